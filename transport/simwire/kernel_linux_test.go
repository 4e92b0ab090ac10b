package simwire

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlab/netlab/transport/impair"
)

// The kernel cross-check: the same transfer, through the same impair
// pipeline, carried by the kernel's own TCP. Two network namespaces each
// get a TUN device; this process reads every IPv4 packet one kernel sends
// into its TUN, puts it through an impair.Pipeline (a fresh one per
// direction, seeded as the wire's) and writes what survives, when it is
// due, into the other namespace's TUN. The kernel on either side sees a
// point-to-point link with loss and delay; nothing of the kernel's TCP is
// changed but the congestion control, chosen per socket (TCP_CONGESTION).
// It needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for the namespaces); tc's
// netem would do the same in the kernel, but is often not built (this
// VM's kernel lacks it), and the pipeline makes the impairment the same
// code, not just the same numbers.

// kernelTransfer moves data over kernel TCP through a fresh impaired
// namespace pair; an error says why the kernel path is not available.
func kernelTransfer(cfg impair.Config, data []byte, cc string) (time.Duration, kernelTCPStats, error) {
	k, err := newKernelPath(cfg)
	if err != nil {
		return 0, kernelTCPStats{}, err
	}
	defer k.Close()
	return k.transfer(data, cc)
}

// The kernel path's addresses, inside its own namespaces.
var (
	kernelClient = netip.MustParseAddr("10.9.0.1")
	kernelServer = netip.MustParseAddr("10.9.0.2")
)

// A kernelPath is two network namespaces joined by an impaired TUN pair.
type kernelPath struct {
	client, server int // namespace file descriptors
	relay          sync.WaitGroup
	tuns           []*os.File
	up, down       impair.Counters
}

// newKernelPath builds the namespaces and starts the relay; an error says
// why the kernel cross-check cannot run here.
func newKernelPath(cfg impair.Config) (*kernelPath, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("not root (needs network namespaces and TUN devices)")
	}
	k := &kernelPath{client: -1, server: -1}
	var err error
	var ctun, stun *os.File
	if k.client, ctun, err = newNamespace(kernelClient, kernelServer); err == nil {
		k.tuns = append(k.tuns, ctun)
		if k.server, stun, err = newNamespace(kernelServer, kernelClient); err == nil {
			k.tuns = append(k.tuns, stun)
		}
	}
	if err != nil {
		k.Close()
		return nil, err
	}
	start := time.Now()
	k.relay.Add(2)
	go k.carry(ctun, stun, impair.NewPipeline(cfg, start, 0, int(Up), &k.up), &k.up)
	go k.carry(stun, ctun, impair.NewPipeline(cfg, start, 0, int(Down), &k.down), &k.down)
	return k, nil
}

// Close stops the relay and lets the namespaces go (the kernel frees one
// when its last socket, device and file are gone).
func (k *kernelPath) Close() {
	for _, f := range k.tuns {
		f.Close()
	}
	k.relay.Wait()
	for _, ns := range []int{k.client, k.server} {
		if ns >= 0 {
			unix.Close(ns)
		}
	}
}

// carry is one direction: it reads packets from one TUN, pushes each
// through the pipeline and hands what leaves to a writer goroutine that
// writes it to the other TUN at its time. At never decreases, so a FIFO
// queue is enough. Only loss, delay, rate and the like make sense here:
// a held packet (reorder) waits for the next one.
func (k *kernelPath) carry(from, to *os.File, pipe *impair.Pipeline, counts *impair.Counters) {
	defer k.relay.Done()
	out := make(chan impair.Packet, maxQueued)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range out {
			time.Sleep(time.Until(p.At))
			if _, err := to.Write(p.Data); err == nil { // a closed TUN, at the end, drops
				counts.Delivered.Add(1)
			}
		}
	}()
	defer func() { close(out); <-done }()
	var pks []impair.Packet
	for {
		b := make([]byte, MTU)
		n, err := from.Read(b)
		if err != nil {
			return
		}
		if n == 0 || b[0]>>4 != 4 {
			continue // IPv4 only, as on the simulated wire
		}
		pks = pipe.Push(pks[:0], b[:n], time.Now())
		for _, p := range pks {
			select {
			case out <- p:
			default: // a full queue drops, as the wire's does
				counts.Dropped.Add(1)
				counts.Overflow.Add(1)
			}
		}
	}
}

// newNamespace makes a network namespace holding a TUN device with local
// address self and peer as the other end of its point-to-point link; it
// returns the namespace and the device's file.
func newNamespace(self, peer netip.Addr) (ns int, tun *os.File, err error) {
	type result struct {
		ns  int
		tun *os.File
		err error
	}
	res := make(chan result, 1)
	go func() {
		// The thread is never unlocked: it leaves the namespace only by
		// ending with this goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			res <- result{err: fmt.Errorf("unshare(CLONE_NEWNET): %w", err)}
			return
		}
		ns, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res <- result{err: err}
			return
		}
		// No IPv6 on the link: router solicitations would cross the
		// pipeline and take packet indices.
		os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("1"), 0)
		tun, err := openTUN("wire0", self, peer)
		if err != nil {
			unix.Close(ns)
			res <- result{err: err}
			return
		}
		res <- result{ns: ns, tun: tun}
	}()
	r := <-res
	return r.ns, r.tun, r.err
}

// openTUN creates and configures a TUN device in the calling thread's
// namespace, as `ip tuntap add` and `ip addr add self peer peer` would.
func openTUN(name string, self, peer netip.Addr) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI) // bare IP packets, one per read
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF: %w", err)
	}
	if err := configure(name, self, peer); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil { // so Close wakes a blocked Read
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// configure sets a device's address and peer and brings it up.
func configure(name string, self, peer netip.Addr) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	for _, step := range []struct {
		req  uint
		addr netip.Addr
	}{{unix.SIOCSIFADDR, self}, {unix.SIOCSIFDSTADDR, peer}} {
		ifr, _ := unix.NewIfreq(name)
		if err := ifr.SetInet4Addr(step.addr.AsSlice()); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(s, step.req, ifr); err != nil {
			return fmt.Errorf("%s address: %w", name, err)
		}
	}
	ifr, _ := unix.NewIfreq(name)
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}

// inNamespace runs fn on a thread that has joined the namespace ns. A
// socket fn opens stays in that namespace after fn returns.
func inNamespace(ns int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// kernelTCPStats is what the sending kernel said of the connection.
type kernelTCPStats struct {
	Retransmits uint32 // tcpi_total_retrans
	Segments    uint32 // tcpi_segs_out
}

// transfer sends data from the client namespace to a server in the other,
// the client's kernel using congestion control cc ("reno", "cubic": the
// sender's choice is the one that matters), and returns the time from dial
// to the server's EOF, as transferB measures the wire.
func (k *kernelPath) transfer(data []byte, cc string) (time.Duration, kernelTCPStats, error) {
	var st kernelTCPStats
	var ln *net.TCPListener
	err := inNamespace(k.server, func() (err error) {
		ln, err = net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(kernelServer, 80)))
		return err
	})
	if err != nil {
		return 0, st, fmt.Errorf("kernel listen: %w", err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(io.Discard, c)
		c.Close()
		done <- err
	}()
	start := time.Now()
	var c *net.TCPConn
	err = inNamespace(k.client, func() error {
		d := net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, raw syscall.RawConn) error {
			var serr error
			err := raw.Control(func(fd uintptr) {
				serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, cc)
			})
			return errors.Join(err, serr)
		}}
		conn, err := d.Dial("tcp4", netip.AddrPortFrom(kernelServer, 80).String())
		if err == nil {
			c = conn.(*net.TCPConn)
		}
		return err
	})
	if err != nil {
		return 0, st, fmt.Errorf("kernel dial (%s): %w", cc, err)
	}
	defer c.Close()
	if _, err := c.Write(data); err != nil {
		return 0, st, err
	}
	c.CloseWrite() // the FIN, as Close sends it; the socket stays for TCP_INFO
	if err := <-done; err != nil {
		return 0, st, err
	}
	took := time.Since(start)
	raw, err := c.SyscallConn()
	if err != nil {
		return took, st, err
	}
	raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			st = kernelTCPStats{Retransmits: info.Total_retrans, Segments: info.Segs_out}
		}
	})
	return took, st, nil
}
