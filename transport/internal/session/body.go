package session

import (
	"net/http"
	"time"
)

// A Body is the deadline on one request's body. A body must arrive within
// its timeout. Until it is read whole, an answer closes the connection, and
// Done passes the read deadline: otherwise net/http reads the rest of an
// unread body (up to 256 KiB, at whatever pace the client sends it) to keep
// the connection, holding a descriptor for a slow client that was already
// refused.
type Body struct {
	rc   *http.ResponseController // nil: the request has no body
	Read bool                     // the handler read the body whole
}

// WatchBody gives r's body, if it has one, timeout to arrive. Call Done
// when the handler returns, with Read set if the body was read whole.
func WatchBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) *Body {
	if r.ContentLength == 0 {
		return &Body{}
	}
	w.Header().Set("Connection", "close")
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(timeout))
	return &Body{rc: rc}
}

// Done ends a body that was not read whole: the connection is not kept.
func (b *Body) Done() {
	if b.rc != nil && !b.Read {
		b.rc.SetReadDeadline(time.Now())
	}
}
