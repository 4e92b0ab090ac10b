package sse

import (
	"testing"

	"github.com/netlab/netlab/transport/transporttest"
)

func TestConformance(t *testing.T) { transporttest.Run(t, New(Options{})) }
