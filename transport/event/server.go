package event

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/netlab/netlab/transport"
)

// A Server tracks the sockets of its connected clients: it accepts them from
// a transport.Listener (Serve) or is handed connections (Add), installs its
// handlers on every socket, and emits to one socket or to all. It is safe for
// concurrent use.
type Server struct {
	opts Options

	hmu      sync.RWMutex
	handlers map[string]Handler

	mu           sync.Mutex
	sockets      map[string]*Socket
	order        []*Socket // in connection order, for Sockets
	nextID       int
	closed       bool
	gone         Stats // counters of sockets that have ended
	onConnect    func(*Socket)
	onDisconnect func(*Socket)
	wg           sync.WaitGroup // one per live socket reader
}

// NewServer returns a server whose sockets use opts (opts.Handlers are
// installed as server handlers; opts.ID is ignored: sockets are numbered
// "1", "2", ... in connection order).
func NewServer(opts Options) (*Server, error) {
	srv := &Server{opts: opts, handlers: make(map[string]Handler), sockets: make(map[string]*Socket)}
	for name, h := range opts.Handlers {
		if err := srv.On(name, h); err != nil {
			return nil, err
		}
	}
	return srv, nil
}

// On installs h as the handler of the named event on every socket, present
// and future, that has no handler of its own for it (Socket.On wins). A nil h
// removes it.
func (srv *Server) On(name string, h Handler) error {
	if err := CheckName(name); err != nil {
		return err
	}
	srv.hmu.Lock()
	defer srv.hmu.Unlock()
	if h == nil {
		delete(srv.handlers, name)
	} else {
		srv.handlers[name] = h
	}
	return nil
}

func (srv *Server) handler(name string) Handler {
	srv.hmu.RLock()
	defer srv.hmu.RUnlock()
	return srv.handlers[name]
}

// OnConnect sets f to be called with each new socket before it starts
// reading, so handlers f installs with Socket.On see every event (as in
// Socket.IO's io.on("connection")). Set it before Serve.
func (srv *Server) OnConnect(f func(*Socket)) {
	srv.mu.Lock()
	srv.onConnect = f
	srv.mu.Unlock()
}

// OnDisconnect sets f to be called, on the socket's reader goroutine, when a
// socket has ended and left the server.
func (srv *Server) OnDisconnect(f func(*Socket)) {
	srv.mu.Lock()
	srv.onDisconnect = f
	srv.mu.Unlock()
}

// Serve accepts clients from l until ctx is done or l is closed (both return
// nil) or Accept fails otherwise. It does not close l.
func (srv *Server) Serve(ctx context.Context, l transport.Listener) error {
	for {
		conn, err := l.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, transport.ErrClosed) {
				return nil
			}
			return fmt.Errorf("event: accept: %w", err)
		}
		if _, err := srv.Add(conn); err != nil {
			return err
		}
	}
}

// Add makes a socket of an accepted connection, calls the OnConnect function
// and starts the socket's reader. It fails with transport.ErrClosed (and
// closes conn) after Close.
func (srv *Server) Add(conn transport.Conn) (*Socket, error) {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		conn.Close()
		return nil, fmt.Errorf("event: server: %w", transport.ErrClosed)
	}
	srv.nextID++
	opts := srv.opts
	opts.ID = strconv.Itoa(srv.nextID)
	s := newSocket(conn, opts, srv)
	srv.sockets[s.id] = s
	srv.order = append(srv.order, s)
	srv.wg.Add(1)
	onConnect := srv.onConnect
	srv.mu.Unlock()
	if onConnect != nil {
		onConnect(s)
	}
	s.start()
	return s, nil
}

func (srv *Server) remove(s *Socket) {
	srv.mu.Lock()
	delete(srv.sockets, s.id)
	for i, o := range srv.order {
		if o == s {
			srv.order = append(srv.order[:i], srv.order[i+1:]...)
			break
		}
	}
	srv.gone = srv.gone.add(s.Stats())
	f := srv.onDisconnect
	srv.mu.Unlock()
	if f != nil {
		f(s)
	}
	srv.wg.Done()
}

// Socket returns the connected socket with the given id, or nil.
func (srv *Server) Socket(id string) *Socket {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sockets[id]
}

// Sockets returns the connected sockets in the order they connected.
func (srv *Server) Sockets() []*Socket {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]*Socket(nil), srv.order...)
}

// Emit sends the named event to every client connected now, one after the
// other, and returns how many took it. A client whose transport send queue
// is full holds up the ones after it until ctx is done. Errors of single
// sockets are joined; a socket that fails is not retried (at most once).
func (srv *Server) Emit(ctx context.Context, name string, data []byte) (int, error) {
	if err := CheckName(name); err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, s := range srv.Sockets() {
		if err := s.Emit(ctx, name, data); err != nil {
			errs = append(errs, fmt.Errorf("socket %s: %w", s.id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Stats returns the counters of all sockets, ended ones included.
func (srv *Server) Stats() Stats {
	srv.mu.Lock()
	st := srv.gone
	live := append([]*Socket(nil), srv.order...)
	srv.mu.Unlock()
	for _, s := range live {
		st = st.add(s.Stats())
	}
	return st
}

// Close closes every socket and waits for their readers to stop; later Adds
// fail. It does not close a Listener given to Serve. Close is idempotent.
func (srv *Server) Close() error {
	srv.mu.Lock()
	srv.closed = true
	live := append([]*Socket(nil), srv.order...)
	srv.mu.Unlock()
	for _, s := range live {
		s.Close()
	}
	srv.wg.Wait()
	return nil
}
