// Package hostaddr turns a server's listening address into the addresses to
// give to people: on 0.0.0.0 or ::, this machine's own addresses as its
// network interfaces report them, not the unspecified address.
package hostaddr

import (
	"net"
	"net/netip"
	"strings"
)

// Unspecified reports whether host means "every address of this
// machine" (0.0.0.0, ::, or nothing).
func Unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

// Follow puts addr's port on the host of listen: a second door follows
// the first one's --listen unless its own flag was given.
func Follow(listen, port string) string {
	h, _, err := net.SplitHostPort(listen)
	if err != nil {
		h = "127.0.0.1"
	}
	return net.JoinHostPort(h, port)
}

// Machine lists this machine's own addresses to give to other
// machines, as net.InterfaceAddrs reports them: IPv4 first, loopback last,
// no link-local ones, and only IPv4 when v4only. It never returns an
// empty list: with no other address it returns 127.0.0.1.
func Machine(v4only bool) []netip.Addr {
	ifaddrs, _ := net.InterfaceAddrs()
	var good, last []netip.Addr
	for _, a := range ifaddrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if v4only && !ip.Is4() {
			continue
		}
		switch {
		case ip.IsLinkLocalUnicast():
			continue // fe80::/10 needs a zone to be dialed: no use to a class
		case ip.IsLoopback():
			last = append(last, ip)
		case ip.Is4():
			good = append([]netip.Addr{ip}, good...)
		default:
			good = append(good, ip)
		}
	}
	// IPv4 before IPv6 among the good ones.
	var v4, v6 []netip.Addr
	for _, ip := range good {
		if ip.Is4() {
			v4 = append(v4, ip)
		} else {
			v6 = append(v6, ip)
		}
	}
	out := append(append(v4, v6...), last...)
	if len(out) == 0 {
		out = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}
	return out
}

// Share turns a listening address into the addresses to give out:
// itself when it names one host, and this machine's real addresses (not
// 0.0.0.0 or [::]) when it listens on all of them. The first is the one to
// print in examples.
func Share(addr string) []string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil || !Unspecified(h) {
		return []string{addr}
	}
	v4only := h == "0.0.0.0"
	var out []string
	for _, ip := range Machine(v4only) {
		out = append(out, net.JoinHostPort(ip.String(), p))
	}
	return out
}

// ListenedOn is what a server listens on, for Share: the host the user
// asked for (Go reports a listener on 0.0.0.0 as [::]) and the port it got.
func ListenedOn(asked string, got net.Addr) string {
	h, _, err := net.SplitHostPort(asked)
	_, p, err2 := net.SplitHostPort(got.String())
	if err != nil || err2 != nil {
		return got.String()
	}
	return net.JoinHostPort(h, p)
}

// Others is the line that lists the addresses after the first, when a
// server listens on all of them ("" when there is one).
func Others(addrs []string) string {
	if len(addrs) < 2 {
		return ""
	}
	var hosts []string
	for _, a := range addrs {
		h, _, _ := net.SplitHostPort(a)
		hosts = append(hosts, h)
	}
	return "listening on every address of this machine: " + strings.Join(hosts, ", ") + " (give the class one it can reach)"
}
