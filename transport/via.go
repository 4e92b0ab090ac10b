package transport

import "context"

// Chain returns a Via that puts every non-nil Via in vias between a client
// and its server, in order: the client dials the first, the first forwards
// to the second, and the last forwards to the server. Chain(tap, link) gives
// client → tap → link → server. Chain returns nil when every Via is nil, and
// the only non-nil Via unchanged when there is one.
//
// The Vias are started from the server's end outward, each given the address
// of the one after it. If one fails, Chain returns its error; what the Vias
// before it started stops when ctx is done, as with any Via.
func Chain(vias ...Via) Via {
	var vs []Via
	for _, v := range vias {
		if v != nil {
			vs = append(vs, v)
		}
	}
	switch len(vs) {
	case 0:
		return nil
	case 1:
		return vs[0]
	}
	return func(ctx context.Context, network, upstream string) (string, error) {
		addr := upstream
		for i := len(vs) - 1; i >= 0; i-- {
			var err error
			if addr, err = vs[i](ctx, network, addr); err != nil {
				return "", err
			}
		}
		return addr, nil
	}
}
