package quic

import (
	"testing"

	"github.com/netlab/netlab/transport/transporttest"
)

func TestConformance(t *testing.T) { transporttest.Run(t, New(Options{})) }

func TestConformancePerMessage(t *testing.T) {
	transporttest.Run(t, New(Options{PerMessage: true}))
}
