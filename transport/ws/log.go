package ws

import (
	"io"
	"log"
)

// quietLog drops net/http's per-connection error log lines (TLS probes,
// slowloris cut-offs): they would interleave with a lab's output.
var quietLog = log.New(io.Discard, "", 0)
