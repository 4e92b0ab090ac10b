//go:build !linux

package simwire

import (
	"errors"
	"time"

	"github.com/netlab/netlab/transport/impair"
)

type kernelTCPStats struct{ Retransmits, Segments uint32 }

// kernelTransfer: the kernel cross-check uses Linux network namespaces.
func kernelTransfer(impair.Config, []byte, string) (time.Duration, kernelTCPStats, error) {
	return 0, kernelTCPStats{}, errors.New("the kernel cross-check needs Linux (network namespaces, TUN)")
}
