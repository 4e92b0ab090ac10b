package socketio

import (
	"testing"

	"github.com/netlab/netlab/transport/transporttest"
)

func TestConformance(t *testing.T) {
	for _, tr := range [][]string{{Polling, WebSocket}, {WebSocket}, {Polling}} {
		t.Run(tr[len(tr)-1]+"-first-"+tr[0], func(t *testing.T) {
			transporttest.Run(t, New(Options{Transports: tr}))
		})
	}
}
