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

// ParseRecording reads a recording of one connection: '#' comment lines,
// then one read per line, "> HEX" for client to server and "< HEX" for
// server to client. Lines of a tap's recording of several connections
// carry the connection's number first ("3> HEX"); ParseRecordings splits
// those.
func ParseRecording(name string, r io.Reader) (*Sample, error) {
	all, err := ParseRecordings(name, r)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return &Sample{Name: name}, nil
	}
	if len(all) > 1 {
		return nil, fmt.Errorf("wire: %s holds %d connections, want one", name, len(all))
	}
	return all[0], nil
}

// ParseRecordings reads a recording of one or more connections, in the
// order each first appears.
func ParseRecordings(name string, r io.Reader) ([]*Sample, error) {
	var out []*Sample
	byConn := map[string]*Sample{}
	about := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 4<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if l == "" {
			continue
		}
		if l[0] == '#' {
			if about == "" {
				about = strings.TrimSpace(l[1:])
			}
			continue
		}
		head, hx, ok := strings.Cut(l, " ")
		if !ok || len(head) == 0 || (head[len(head)-1] != '>' && head[len(head)-1] != '<') {
			return nil, fmt.Errorf("wire: %s line %d: want '> HEX', '< HEX' or 'N> HEX'", name, n)
		}
		conn := head[:len(head)-1]
		for _, c := range conn {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("wire: %s line %d: bad connection number %q", name, n, conn)
			}
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			return nil, fmt.Errorf("wire: %s line %d: %w", name, n, err)
		}
		s := byConn[conn]
		if s == nil {
			sname := name
			if conn != "" {
				sname = name + " conn " + conn
			}
			s = &Sample{Name: sname}
			byConn[conn] = s
			out = append(out, s)
		}
		dir := ClientToServer
		if head[len(head)-1] == '<' {
			dir = ServerToClient
		}
		s.Dirs = append(s.Dirs, dir)
		s.Reads = append(s.Reads, b)
	}
	for _, s := range out {
		s.About = about
	}
	return out, sc.Err()
}

// Decode runs the recording through a decoder of proto, writing the trace
// to out, and returns what it counted.
func (s *Sample) Decode(proto Proto, dumpBytes int, out io.Writer) Totals {
	return s.DecodeAs("conn 1", proto, dumpBytes, out)
}

// DecodeAs is Decode with the connection's name in the trace.
func (s *Sample) DecodeAs(conn string, proto Proto, dumpBytes int, out io.Writer) Totals {
	d := NewDecoder(conn, proto, dumpBytes, func(x string) { io.WriteString(out, x) })
	for i, b := range s.Reads {
		d.Feed(s.Dirs[i], b)
	}
	d.Close()
	return d.Totals()
}
