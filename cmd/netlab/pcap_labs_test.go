package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

// Every lab with a link takes --pcap: the file reads back with as many
// packets as the note on stderr says and, where the lab prints the link
// summary, as many as the wire let through by its own counts.
func TestLabsWritePCAP(t *testing.T) {
	link := []string{"--loss", "5%", "--delay", "2ms"}
	for _, lab := range []struct {
		name    string
		args    []string
		summary bool // prints the link summary (loss and loss streams have their own tables)
	}{
		{"echo", []string{"echo", "--transports", "tcp", "--count", "10"}, true},
		{"compare", []string{"compare", "--transports", "tcp", "--count", "10"}, true},
		{"push", []string{"push", "--transports", "tcp", "--count", "10", "--rate", "100"}, true},
		{"loss", []string{"loss", "--transports", "tcp", "--count", "20"}, false},
		{"loss streams", []string{"loss", "streams", "--transports", "tcp", "--count", "20", "--handshake=false"}, false},
	} {
		t.Run(lab.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lab.pcap")
			args := append(append(append([]string{}, lab.args...), link...), "--pcap", path)
			code, out, errOut := netlab(t, "", args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			n := pcapPackets(t, path)
			if n == 0 || !strings.Contains(errOut, fmt.Sprintf("wrote %d packets to %s", n, path)) {
				t.Errorf("pcap holds %d packets; stderr %q", n, errOut)
			}
			if !lab.summary {
				return
			}
			if want := wirePassed(t, out); n != want {
				t.Errorf("pcap holds %d packets; the wire let %d through:\n%s", n, want, out)
			}
		})
	}
}

// pcapPackets reads a pcap file back and counts its packets.
func pcapPackets(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			return n
		}
		n++
	}
}

// wirePassed reads a link summary in out and returns how many packets the
// wire let through both ways: those that entered, less those dropped and
// cut off, plus the copies.
func wirePassed(t *testing.T, out string) int64 {
	t.Helper()
	flat := strings.Join(strings.Fields(out), " ") // the summary wraps long lines
	var passed int64
	for _, dir := range []string{"client→server:", "server→client:"} {
		i := strings.Index(flat, dir)
		if i < 0 {
			t.Fatalf("no %q line in:\n%s", dir, out)
		}
		var packets, dropped, dup, reordered, cut int64
		n, _ := fmt.Sscanf(flat[i+len(dir):], " %d packets, %d dropped, %d duplicated, %d reordered, %d cut off",
			&packets, &dropped, &dup, &reordered, &cut)
		if n < 4 {
			t.Fatalf("%s %.80q: not the wire's counts", dir, flat[i+len(dir):])
		}
		passed += packets - dropped - cut + dup
	}
	return passed
}
