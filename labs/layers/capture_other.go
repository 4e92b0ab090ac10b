//go:build !linux

package layers

import "context"

// CaptureEcho needs Linux's AF_PACKET sockets.
func CaptureEcho(ctx context.Context, cfg Config) (*Capture, error) {
	return nil, unavailable("capturing uses Linux AF_PACKET sockets; this system is not Linux")
}
