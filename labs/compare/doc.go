// Package compare runs the echo and push labs over several transports and
// builds one side-by-side result: one column per transport, one row per
// figure, and a few plain-language sentences that read the table, each
// computed from the run's own numbers and printed only when they support it.
//
// Like every lab it sees only the transport interface; cmd/netlab chooses
// the transports.
package compare
