package simwire

import (
	"bufio"
	"io"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// snapLen is the pcap's largest packet: the whole of every packet.
const snapLen = 65535

// A PCAP writes the packets that crossed a wire to a pcap file (raw IPv4,
// nanosecond timestamps) that Wireshark and tshark open. The file is what
// a capture at the client would show, minus the client's packets the wire
// dropped: a client→server packet is stamped when it left the client, a
// server→client packet when it reached the client. Dropped packets are not
// in the file; a duplicated one is there twice. Several networks may share
// one PCAP; its methods are safe for concurrent use.
type PCAP struct {
	mu  sync.Mutex
	bw  *bufio.Writer
	w   *pcapgo.Writer
	n   int
	err error
}

// NewPCAP writes the file header to w and returns the writer. Call Flush
// (or Close the networks using it) before closing w.
func NewPCAP(w io.Writer) (*PCAP, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	pw := pcapgo.NewWriterNanos(bw)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeRaw); err != nil {
		return nil, err
	}
	return &PCAP{bw: bw, w: pw}, nil
}

func (p *PCAP) write(t time.Time, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return
	}
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(b), Length: len(b)}
	if p.err = p.w.WritePacket(ci, b); p.err == nil {
		p.n++
	}
}

func (p *PCAP) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = p.bw.Flush()
	}
}

// Flush writes what is buffered and returns the first write error.
func (p *PCAP) Flush() error {
	p.flush()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Packets is how many packets were written.
func (p *PCAP) Packets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
