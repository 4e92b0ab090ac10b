package httppoll

import (
	"testing"
	"time"

	"github.com/netlab/netlab/transport/transporttest"
)

func TestConformanceShort(t *testing.T) {
	transporttest.Run(t, New(Options{Mode: Short, PollInterval: 20 * time.Millisecond}))
}

func TestConformanceLong(t *testing.T) { transporttest.Run(t, New(Options{Mode: Long})) }
