// Package simwire is a network inside the process: two real TCP/IP stacks
// (gVisor's netstack), one for the client side (10.0.0.1) and one for the
// server side (10.0.0.2), joined by a simulated wire that carries real IPv4
// packets and puts every one of them through the impairment stages of
// package impair (loss, burst, dup, reorder, delay, jitter, rate, cut).
//
// Nothing here models TCP: a lost packet is simply not delivered, and the
// stacks' own TCP (RFC 9293, with SACK, RACK or classic three-duplicate-ACK
// recovery, RFC 6298 retransmission timers, Reno congestion control) notices
// and recovers, as a kernel would. UDP crosses the same wire as real
// datagrams. The stacks run unprivileged; the kernel is not involved.
//
// A Network hands out net.Conn and net.Listener values in the manner of
// wireguard-go's tun/netstack (DialTCP, ListenTCP, DialUDP, ListenUDP), so
// the code on either side does not know it runs over a simulated wire. A
// Link puts a Network between any kernel client and server (Via, Listen):
// the client's kernel TCP connection ends at a proxy on 127.0.0.1, crosses
// the wire as a connection between the two stacks, and leaves as a kernel
// connection to the server. Only the middle hop is impaired.
//
// The wire counts what it did to each direction (packets in, dropped,
// duplicated, reordered, and packets a full endpoint queue dropped), can
// write what crossed it to a pcap file, keeps a trace of the packets' TCP
// headers for a ladder diagram, and records the senders' congestion window,
// smoothed RTT and RTO on every ACK.
//
// Randomness is seeded: the same impair.Config.Seed drops the same packet
// index on each direction. What still varies run to run is timing: the
// stacks' timers run on the real clock, so a retransmission's exact moment,
// and with it which later packets exist, can shift by scheduling noise.
package simwire
