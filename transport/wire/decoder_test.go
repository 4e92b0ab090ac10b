package wire

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the decoders' output")

// readRec reads a recorded connection.
func readRec(t testing.TB, path string) (dirs []Dir, chunks [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ParseRecording(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return s.Dirs, s.Reads
}

func decodeRec(t testing.TB, path string) string {
	dirs, chunks := readRec(t, path)
	var out strings.Builder
	d := NewDecoder("conn 1", Auto, DefaultDumpBytes, func(s string) { out.WriteString(s) })
	for i := range chunks {
		d.Feed(dirs[i], chunks[i])
	}
	d.Close()
	return out.String()
}

func TestDecoderGolden(t *testing.T) {
	recs, _ := filepath.Glob("samples/*.rec")
	if len(recs) == 0 {
		t.Fatal("no samples/*.rec")
	}
	for _, rec := range recs {
		t.Run(filepath.Base(rec), func(t *testing.T) {
			got := decodeRec(t, rec)
			golden := filepath.Join("testdata", strings.TrimSuffix(filepath.Base(rec), ".rec")+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("decoding %s differs from %s (go test -update rewrites it after you check the diff):\n%s", rec, golden, diffLines(string(want), got))
			}
		})
	}
}

// diffLines shows the first differing line.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl
		}
	}
	return ""
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// The same recording decodes to the same text however its bytes are split
// into reads: byte by byte, or all of one direction's run at once.
func TestDecoderSplitIndependent(t *testing.T) {
	dirs, chunks := readRec(t, "samples/ws.rec")
	frames := func(split int) (n int64, msgs int64) {
		d := NewDecoder("c", Auto, -1, nil)
		for i, c := range chunks {
			for len(c) > 0 {
				k := min(split, len(c))
				d.Feed(dirs[i], c[:k])
				c = c[k:]
			}
		}
		d.Close()
		return d.Totals().Frames, d.Totals().Messages
	}
	wantF, wantM := frames(1 << 30)
	for _, s := range []int{1, 2, 3, 7, 13, 4096} {
		if f, m := frames(s); f != wantF || m != wantM {
			t.Errorf("split %d: %d frames, %d messages; want %d, %d", s, f, m, wantF, wantM)
		}
	}
	if wantF != 12 {
		t.Errorf("got %d frames, want 12", wantF)
	}
}

func TestWSAccept(t *testing.T) {
	// RFC 6455 §1.3
	if got, want := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("wsAccept = %s, want %s", got, want)
	}
}

// A hostile 64-bit length is counted, never allocated.
func TestWSHugeLengthDoesNotAllocate(t *testing.T) {
	p := newWSParser(false)
	hdr := []byte{0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	var events int
	allocs := testing.AllocsPerRun(10, func() {
		p = newWSParser(false)
		p.feed(hdr, func(wsEvent) { events++ })
		p.feed(make([]byte, 0), func(wsEvent) {})
	})
	if allocs > 10 {
		t.Errorf("%v allocations for a header announcing 2^63-1 bytes", allocs)
	}
	buf := make([]byte, 1<<16)
	for i := 0; i < 64; i++ {
		p.feed(buf, func(wsEvent) { t.Fatal("a frame of 2^63-1 bytes cannot be complete") })
	}
	if cap(p.msg) > wsMessageMax {
		t.Errorf("kept %d bytes of message, limit %d", cap(p.msg), wsMessageMax)
	}
	p2 := newWSParser(false)
	p2.feed([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, func(wsEvent) {})
	if p2.failed == "" {
		t.Error("a 64-bit length with its top bit set was accepted")
	}
}

// A poll answer may carry several messages: a JSON array, or one JSON
// object a line. Each is decoded, and every body byte is accounted for.
func TestDescribeBodyForms(t *testing.T) {
	m1, m2 := `{"seq":1,"text":"a"}`, `{"seq":2,"text":"bc"}`
	for _, body := range []string{"[" + m1 + "," + m2 + "]", m1 + "\n" + m2 + "\n", m1 + "\r\n" + m2} {
		lines, c := describeBody([]byte(body), true)
		if len(lines) != 2 || !strings.Contains(lines[1], "seq=2") {
			t.Errorf("%q: got %q", body, lines)
		}
		if c.Payload != 3 || c.Total() != int64(len(body)) {
			t.Errorf("%q: cost %v, want payload 3 B and %d B in all", body, c, len(body))
		}
	}
}

// One NDJSON message with its newline: the newline is framing.
func TestDescribeBodyNDJSONNewlineIsFraming(t *testing.T) {
	body := `{"seq":1,"text":"ab"}` + "\n"
	_, c := describeBody([]byte(body), true)
	if c.Payload != 2 || c.Framing != 1 || c.Total() != int64(len(body)) {
		t.Errorf("cost %v, want payload 2 B, framing 1 B, %d B in all", c, len(body))
	}
}

// A negative dumpBytes means no hex dump (as 'netlab wire --dump 0' asks),
// not a dump of the whole read.
func TestDecoderNoDump(t *testing.T) {
	var out strings.Builder
	d := NewDecoder("conn 1", TCP, -1, func(s string) { out.WriteString(s) })
	d.Feed(ClientToServer, []byte(`{"seq":1,"text":"hi"}`+"\n"))
	d.Close()
	if strings.Contains(out.String(), "0000  7b") {
		t.Fatalf("dumpBytes -1 still dumped the read:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "netlab message seq=1") {
		t.Fatalf("the line was not decoded:\n%s", out.String())
	}
}
