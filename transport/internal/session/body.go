package session

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// A Body is the deadline on one request's body. A body must arrive within
// its timeout. Until it is read whole, an answer closes the connection, and
// Done passes the read deadline: otherwise net/http reads the rest of an
// unread body (up to 256 KiB, at whatever pace the client sends it) to keep
// the connection, holding a descriptor for a slow client that was already
// refused.
type Body struct {
	name    string
	timeout time.Duration
	rc      *http.ResponseController // nil: the request has no body
	read    bool                     // ReadAll read the body whole
}

// WatchBody gives r's body, if it has one, timeout to arrive. Call Done
// when the handler returns. name starts the error answers ReadAll gives.
func WatchBody(w http.ResponseWriter, r *http.Request, name string, timeout time.Duration) *Body {
	b := &Body{name: name, timeout: timeout}
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		b.rc = http.NewResponseController(w)
		b.rc.SetReadDeadline(time.Now().Add(timeout))
	}
	return b
}

// ReadAll reads the body whole, up to max bytes, and lets the connection be
// kept. A body that is too large (413), arrives too slowly (408) or breaks
// off (400) is answered here, and ok is false.
func (b *Body) ReadAll(w http.ResponseWriter, r *http.Request, max int64) (body []byte, ok bool) {
	if r.ContentLength > max {
		HTTPError(w, b.name, http.StatusRequestEntityTooLarge, "body of %d bytes is over the %d-byte limit", r.ContentLength, max)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			HTTPError(w, b.name, http.StatusRequestEntityTooLarge, "body is over the %d-byte limit", max)
		case errors.Is(err, os.ErrDeadlineExceeded):
			HTTPError(w, b.name, http.StatusRequestTimeout, "body not received within %v", b.timeout)
		default:
			HTTPError(w, b.name, http.StatusBadRequest, "reading body: %v", err)
		}
		return nil, false
	}
	b.read = true
	if b.rc != nil {
		w.Header().Del("Connection") // read whole: the connection may be kept
		b.rc.SetReadDeadline(time.Time{})
	}
	return body, true
}

// Done ends a body that was not read whole: the connection is not kept.
func (b *Body) Done() {
	if b.rc != nil && !b.read {
		b.rc.SetReadDeadline(time.Now())
	}
}
