package tcp

import "net"

// RemoteAddr is the peer's address (a server's log names its clients).
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }
