//go:build !linux

package stream

import (
	"errors"
	"net"
)

func kernelInfo(c *net.TCPConn) (*KernelInfo, error) {
	return nil, errors.New("TCP_INFO is only read on Linux")
}
