package stream

import (
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// kernelInfo reads TCP_INFO for c: Linux's own view of the connection.
func kernelInfo(c *net.TCPConn) (*KernelInfo, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var info *unix.TCPInfo
	var serr error
	err = raw.Control(func(fd uintptr) {
		info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("TCP_INFO: %w", err)
	}
	return &KernelInfo{
		RTT:         time.Duration(info.Rtt) * time.Microsecond,
		RTTVar:      time.Duration(info.Rttvar) * time.Microsecond,
		Retransmits: info.Total_retrans,
		SendMSS:     info.Snd_mss,
		CongWindow:  info.Snd_cwnd,
		SegsOut:     info.Segs_out,
		SegsIn:      info.Segs_in,
	}, nil
}
