package wire

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

const (
	httpHeadMax   = 64 << 10 // largest start line + headers decoded
	httpHeaderMax = 200      // most header fields decoded in one message
	httpLineMax   = 4 << 10  // longest chunk-size or trailer line
	httpBodyKeep  = 64 << 10 // body bytes kept to decode netlab messages
)

// An httpMsg is one HTTP/1.x request or response as it crossed the tap.
type httpMsg struct {
	resp      bool
	startLine string
	method    string // request
	target    string // request
	status    int    // response
	headers   [][2]string
	headBytes int64 // start line, header fields and the blank line

	bodyKind string // "Content-Length", "chunked", "until the connection closes", "none"
	bodyLen  int64  // payload bytes of the body (chunk data only, for chunked)
	framing  int64  // chunk-size lines, chunk CRLFs, last chunk and trailers
	chunks   int
	body     []byte // up to httpBodyKeep bytes of the body

	// stream, for a response that streams Server-Sent Events, reads the
	// body as it arrives.
	stream *sseParser
}

func (m *httpMsg) header(name string) string {
	for _, h := range m.headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// headerHas reports whether a comma-separated header contains token.
func (m *httpMsg) headerHas(name, token string) bool {
	for _, h := range m.headers {
		if strings.EqualFold(h[0], name) {
			for _, t := range strings.Split(h[1], ",") {
				if strings.EqualFold(strings.TrimSpace(t), token) {
					return true
				}
			}
		}
	}
	return false
}

type httpState int

const (
	hsHead httpState = iota
	hsBody
	hsChunkSize
	hsChunkData
	hsChunkEnd
	hsTrailer
	hsUntilClose
)

// httpHalf parses one direction of an HTTP/1.x connection: a sequence of
// messages (keep-alive), with Content-Length, chunked or read-until-close
// bodies, from bytes in any split, in bounded memory.
type httpHalf struct {
	resp      bool
	state     httpState
	head      []byte
	line      []byte
	cur       *httpMsg
	remaining int64
	failed    string
}

// httpHooks is how the half asks its connection about the other direction
// (a response's body depends on the request's method) and reports messages.
type httpHooks struct {
	// bodyOf decides how the body of m is delimited once its head is
	// parsed: kind, and for "Content-Length" the length. switchAfter
	// reports whether the connection stops being HTTP after this head (a
	// 101 response).
	bodyOf func(m *httpMsg) (kind string, n int64, switchAfter bool, err error)
	// head, if set, is called once m's head and body kind are known.
	head func(m *httpMsg)
	done func(m *httpMsg)
}

// feed parses b. When the connection switches protocols it returns the bytes
// after the switching message's head, for the next protocol's decoder.
func (h *httpHalf) feed(b []byte, hooks httpHooks) (rest []byte, switched bool) {
	for len(b) > 0 && h.failed == "" {
		switch h.state {
		case hsHead:
			from := max(0, len(h.head)-2)
			var end int
			take := min(len(b), httpHeadMax-len(h.head)+4)
			h.head = append(h.head, b[:take]...)
			end = headEnd(h.head, from)
			if end < 0 {
				if len(h.head) > httpHeadMax {
					h.failed = fmt.Sprintf("HTTP head longer than %d bytes: not decoded further", httpHeadMax)
				}
				return nil, false
			}
			used := end - (len(h.head) - take)
			b = b[used:]
			headBytes := h.head[:end]
			m, err := parseHead(headBytes, h.resp)
			h.head = h.head[:0]
			if err != nil {
				h.failed = err.Error()
				return nil, false
			}
			h.cur = m
			kind, n, sw, err := hooks.bodyOf(m)
			if err != nil {
				h.failed = err.Error() + ": not decoded further"
				return nil, false
			}
			m.bodyKind = kind
			if hooks.head != nil {
				hooks.head(m)
			}
			switch kind {
			case "Content-Length":
				h.remaining = n
				h.state = hsBody
			case "chunked":
				h.state = hsChunkSize
			case "until the connection closes":
				h.state = hsUntilClose
			}
			if sw {
				h.finish(hooks)
				return b, true
			}
			if h.state == hsHead || (h.state == hsBody && n == 0) {
				h.state = hsHead
				h.finish(hooks)
			}
		case hsBody, hsChunkData:
			n := int64(len(b))
			if n > h.remaining {
				n = h.remaining
			}
			h.keep(b[:n])
			b = b[n:]
			h.remaining -= n
			if h.remaining == 0 {
				if h.state == hsBody {
					h.state = hsHead
					h.finish(hooks)
				} else {
					h.state = hsChunkEnd
				}
			}
		case hsUntilClose:
			h.keep(b)
			b = nil
		case hsChunkSize, hsChunkEnd, hsTrailer:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				if len(h.line)+len(b) > httpLineMax {
					h.failed = "chunk-size or trailer line too long: not decoded further"
					return nil, false
				}
				h.line = append(h.line, b...)
				h.cur.framing += int64(len(b))
				return nil, false
			}
			if len(h.line)+i > httpLineMax {
				h.failed = "chunk-size or trailer line too long: not decoded further"
				return nil, false
			}
			h.line = append(h.line, b[:i+1]...)
			h.cur.framing += int64(i + 1)
			b = b[i+1:]
			line := strings.TrimRight(string(h.line), "\r\n")
			h.line = h.line[:0]
			switch h.state {
			case hsChunkSize:
				sz := line
				if j := strings.IndexByte(sz, ';'); j >= 0 {
					sz = sz[:j] // chunk extensions
				}
				n, err := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
				if err != nil || n < 0 {
					h.failed = fmt.Sprintf("bad chunk size %s: not decoded further", quotePreview([]byte(line), 40))
					return nil, false
				}
				if n == 0 {
					h.state = hsTrailer
				} else {
					h.cur.chunks++
					h.remaining = n
					h.state = hsChunkData
				}
			case hsChunkEnd:
				if line != "" {
					h.failed = "chunk data not followed by CRLF: not decoded further"
					return nil, false
				}
				h.state = hsChunkSize
			case hsTrailer:
				if line == "" {
					h.state = hsHead
					h.finish(hooks)
				}
			}
		}
	}
	return nil, false
}

func (h *httpHalf) keep(b []byte) {
	m := h.cur
	m.bodyLen += int64(len(b))
	if m.stream != nil {
		m.stream.feed(b)
		return
	}
	if room := httpBodyKeep - len(m.body); room > 0 {
		m.body = append(m.body, b[:min(room, len(b))]...)
	}
}

func (h *httpHalf) finish(hooks httpHooks) {
	if h.cur != nil {
		hooks.done(h.cur)
		h.cur = nil
	}
}

// close reports a message cut off by the end of the stream: a read-until-close
// body is complete then; anything else is partial.
func (h *httpHalf) close(hooks httpHooks) string {
	switch {
	case h.failed != "":
		return ""
	case h.state == hsUntilClose:
		h.finish(hooks)
	case h.state == hsHead && len(h.head) > 0:
		return fmt.Sprintf("stream ended inside an HTTP head (%d bytes)", len(h.head))
	case h.state != hsHead:
		return "stream ended inside an HTTP body"
	}
	return ""
}

// parseHead parses a start line and header fields.
func parseHead(b []byte, resp bool) (*httpMsg, error) {
	m := &httpMsg{resp: resp, headBytes: int64(len(b))}
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	m.startLine = lines[0]
	parts := strings.SplitN(lines[0], " ", 3)
	if resp {
		if len(parts) < 2 || !strings.HasPrefix(parts[0], "HTTP/") {
			return nil, fmt.Errorf("not an HTTP response: %s", quotePreview([]byte(lines[0]), 40))
		}
		code, err := strconv.Atoi(parts[1])
		if err != nil || code < 100 || code > 999 {
			return nil, fmt.Errorf("bad HTTP status code in %s", quotePreview([]byte(lines[0]), 40))
		}
		m.status = code
	} else {
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/") {
			return nil, fmt.Errorf("not an HTTP request: %s", quotePreview([]byte(lines[0]), 40))
		}
		m.method, m.target = parts[0], parts[1]
	}
	for _, l := range lines[1:] {
		if len(m.headers) == httpHeaderMax {
			return nil, fmt.Errorf("more than %d header fields", httpHeaderMax)
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("bad header line %s", quotePreview([]byte(l), 40))
		}
		m.headers = append(m.headers, [2]string{name, strings.TrimSpace(value)})
	}
	return m, nil
}

// requestBody says how a request's body is delimited (RFC 9112 §6.3).
func requestBody(m *httpMsg) (string, int64, error) {
	if m.headerHas("Transfer-Encoding", "chunked") {
		return "chunked", 0, nil
	}
	if cl := m.header("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return "", 0, fmt.Errorf("bad Content-Length %s", quotePreview([]byte(cl), 30))
		}
		return "Content-Length", n, nil
	}
	return "none", 0, nil
}

// responseBody says how a response's body is delimited, given the method of
// the request it answers (RFC 9112 §6.3).
func responseBody(m *httpMsg, method string) (string, int64, error) {
	if method == "HEAD" || m.status/100 == 1 || m.status == 204 || m.status == 304 {
		return "none", 0, nil
	}
	if m.headerHas("Transfer-Encoding", "chunked") {
		return "chunked", 0, nil
	}
	if cl := m.header("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return "", 0, fmt.Errorf("bad Content-Length %s", quotePreview([]byte(cl), 30))
		}
		return "Content-Length", n, nil
	}
	return "until the connection closes", 0, nil
}

// isHTTPStart reports whether b starts like an HTTP request ("GET /", "POST /",
// ...); more reports that b is too short to tell yet.
func isHTTPStart(b []byte) (yes, more bool) {
	for _, m := range []string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "} {
		n := min(len(b), len(m))
		if string(b[:n]) == m[:n] {
			if n == len(m) {
				return true, false
			}
			more = true
		}
	}
	return false, more
}

// headEnd returns the index just after the blank line that ends an HTTP
// head in b ("\n\n" or "\n\r\n", so CRLF and bare LF both work), looking
// at line ends from index from on, or -1.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}
