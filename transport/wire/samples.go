package wire

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Recorded connections shipped with netlab, so a learner can read a decoded
// WebSocket or HTTP conversation before running one: each file is a list of
// reads, '>' from the client and '<' from the server, in hex.
//
//go:embed samples/*.rec
var samples embed.FS

// A Sample is a recorded connection.
type Sample struct {
	Name  string // "ws", "http", "tcp"
	About string // the file's first comment line
	Dirs  []Dir
	Reads [][]byte
}

// Samples lists the recorded connections by name.
func Samples() []string {
	ents, _ := samples.ReadDir("samples")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".rec"))
	}
	sort.Strings(names)
	return names
}

// LoadSample reads a recorded connection by name.
func LoadSample(name string) (*Sample, error) {
	b, err := samples.ReadFile("samples/" + name + ".rec")
	if err != nil {
		return nil, fmt.Errorf("wire: no sample %q (have %s)", name, strings.Join(Samples(), ", "))
	}
	return ParseRecording(name, bytes.NewReader(b))
}

// ParseRecording reads a recording: '#' comment lines, then one read per
// line, "> HEX" for client to server and "< HEX" for server to client.
func ParseRecording(name string, r io.Reader) (*Sample, error) {
	s := &Sample{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 4<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if l == "" {
			continue
		}
		if l[0] == '#' {
			if s.About == "" {
				s.About = strings.TrimSpace(l[1:])
			}
			continue
		}
		d, hx, ok := strings.Cut(l, " ")
		if !ok || (d != ">" && d != "<") {
			return nil, fmt.Errorf("wire: %s line %d: want '> HEX' or '< HEX'", name, n)
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			return nil, fmt.Errorf("wire: %s line %d: %w", name, n, err)
		}
		dir := ClientToServer
		if d == "<" {
			dir = ServerToClient
		}
		s.Dirs = append(s.Dirs, dir)
		s.Reads = append(s.Reads, b)
	}
	return s, sc.Err()
}

// Decode runs the recording through a decoder of proto, writing the trace
// to out, and returns what it counted.
func (s *Sample) Decode(proto Proto, dumpBytes int, out io.Writer) Totals {
	d := NewDecoder("conn 1", proto, dumpBytes, func(x string) { io.WriteString(out, x) })
	for i, b := range s.Reads {
		d.Feed(s.Dirs[i], b)
	}
	d.Close()
	return d.Totals()
}
