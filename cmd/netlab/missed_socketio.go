package main

import (
	"context"
	"time"

	"github.com/netlab/netlab/labs/missed"
	"github.com/netlab/netlab/transport/socketio"
)

// socketioRecoveryLink is missed.Config.RecoveryLink: Socket.IO's
// connection state recovery, on transport/socketio's server and client.
func socketioRecoveryLink(ctx context.Context, window time.Duration) (missed.RecoveryLink, error) {
	p, err := socketio.NewRecoveryPair(ctx, window)
	if err != nil {
		return nil, err
	}
	return recoveryLink{p}, nil
}

type recoveryLink struct{ *socketio.RecoveryPair }

func (l recoveryLink) Next(ctx context.Context) (missed.LinkEvent, error) {
	ev, err := l.RecoveryPair.Next(ctx)
	return missed.LinkEvent{Tick: ev.Tick, Connect: ev.Connect, Recovered: ev.Recovered, ID: ev.ID,
		Disconnect: ev.Disconnect, Reason: ev.Reason}, err
}
