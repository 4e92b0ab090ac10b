package chat

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/netlab/netlab/transport/accept"
)

//go:embed static
var staticFiles embed.FS

// Limits of the chat server's HTTP listener (the doors add their own: see
// docs/limits.md).
const (
	// ReadHeaderTimeout cuts off clients that send request headers slowly
	// (slowloris).
	ReadHeaderTimeout = 5 * time.Second
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 16 << 10
	// IdleTimeout closes a kept-alive connection with no request, above
	// the long-polling door's longest hold (60 s).
	IdleTimeout = 2 * time.Minute
)

// An HTTPDoor is a front door served over HTTP (WebSocket, long polling):
// its handler is mounted at Path on the chat server's mux, and the
// connections it accepts join the hub as Name.
type HTTPDoor struct {
	Name    string // "ws", "poll"
	Path    string // "/ws", "/poll"
	Handler http.Handler
	Accept  Acceptor
	Close   func() error // stops the door and closes its connections (may be nil)
	// GoingAway, when set, is called as the server starts stopping, before
	// the hub's goodbyes: a connection a goodbye closes then says why
	// (WebSocket close 1001, going away).
	GoingAway func()
}

// ServerConfig configures a chat server.
type ServerConfig struct {
	Hub    Config
	Listen string     // HTTP address for the page and HTTP doors ("" = no HTTP)
	Lines  string     // TCP line address ("" = no line door)
	Doors  []HTTPDoor // WebSocket, long polling
	// MaxConns bounds the connections open at once over both listeners
	// (HTTP and lines share the process's file descriptors); over it a
	// line client reads "server full" and an HTTP client gets 503. 0 means
	// a default below the file descriptor limit (accept.DefaultMax).
	MaxConns int
	// Logf, when set, hears accept errors (running out of descriptors:
	// logged once, retried with backoff).
	Logf func(format string, args ...any)
}

// A Server is a running chat server: one hub behind every door.
type Server struct {
	Hub       *Hub
	HTTPAddr  net.Addr // nil when not serving HTTP
	LinesAddr net.Addr // nil when not serving lines
	// Limit counts the connections open on both listeners.
	Limit *accept.Limit

	wg   sync.WaitGroup
	errs chan error
}

// Start listens on the configured addresses and serves until ctx is done.
// Wait returns when everything has stopped.
func Start(ctx context.Context, cfg ServerConfig) (*Server, error) {
	s := &Server{Hub: NewHub(cfg.Hub), errs: make(chan error, 8)}
	var httpLn, linesLn net.Listener
	var err error
	// The doors are the server's from here on: a server that does not start
	// stops them too (a Socket.IO door runs timers of its own).
	closeDoors := func() {
		for _, d := range cfg.Doors {
			if d.Close != nil {
				d.Close()
			}
		}
	}
	if cfg.Listen != "" {
		if httpLn, err = net.Listen("tcp", cfg.Listen); err != nil {
			closeDoors()
			return nil, fmt.Errorf("chat: listen %s: %w (pick another with --listen, or :0)", cfg.Listen, err)
		}
		s.HTTPAddr = httpLn.Addr()
	}
	if cfg.Lines != "" {
		if linesLn, err = net.Listen("tcp", cfg.Lines); err != nil {
			if httpLn != nil {
				httpLn.Close()
			}
			closeDoors()
			return nil, fmt.Errorf("chat: listen %s: %w (pick another with --tcp, or :0)", cfg.Lines, err)
		}
		s.LinesAddr = linesLn.Addr()
	}
	// One accept loop for both listeners: out-of-descriptor errors are
	// retried with backoff and logged once, and connections over the limit
	// are refused with a word instead of left hanging.
	limit := accept.NewLimit(cfg.MaxConns)
	s.Limit = limit
	if httpLn != nil {
		httpLn = accept.Wrap(httpLn, accept.Config{Limit: limit, Refusal: accept.HTTPFull, Logf: cfg.Logf})
	}
	if linesLn != nil {
		linesLn = accept.Wrap(linesLn, accept.Config{Limit: limit, Refusal: accept.LineFull, Logf: cfg.Logf})
	}
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	hubDone := make(chan struct{})
	go func() { s.Hub.Run(hubCtx); close(hubDone) }()

	var doors sync.WaitGroup
	if httpLn != nil {
		srv := &http.Server{Handler: s.mux(cfg.Doors), ReadHeaderTimeout: ReadHeaderTimeout, MaxHeaderBytes: MaxHeaderBytes,
			IdleTimeout: IdleTimeout}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errs <- fmt.Errorf("chat: http: %w", err)
			}
		}()
		context.AfterFunc(ctx, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		})
		for _, d := range cfg.Doors {
			doors.Add(1)
			go func() {
				defer doors.Done()
				s.Hub.ServeAcceptor(ctx, d.Accept, d.Name)
			}()
		}
	}
	if linesLn != nil {
		doors.Add(1)
		go func() {
			defer doors.Done()
			s.Hub.ServeLines(ctx, linesLn)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-ctx.Done()
		for _, d := range cfg.Doors {
			if d.GoingAway != nil {
				d.GoingAway()
			}
		}
		stopHub() // disconnects every socket with a reason, so the doors' sessions end
		<-hubDone
		doors.Wait()
		for _, d := range cfg.Doors {
			if d.Close != nil {
				d.Close()
			}
		}
	}()
	return s, nil
}

// Wait blocks until the server has stopped and returns the first error a
// listener failed with, if any.
func (s *Server) Wait() error {
	s.wg.Wait()
	select {
	case err := <-s.errs:
		return err
	default:
		return nil
	}
}

// mux serves the page at /, each door at its path, and /stats.
func (s *Server) mux(doors []HTTPDoor) *http.ServeMux {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(sub)
	mux.Handle("/", files)
	for _, d := range doors {
		mux.Handle(d.Path, d.Handler)
		mux.Handle(d.Path+"/", d.Handler)
	}
	mux.HandleFunc("GET /doors", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]string{}
		for _, d := range doors {
			out[d.Name] = d.Path
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(ReadServerStats(s.Hub))
	})
	return mux
}

// ServerStats is what GET /stats returns: the hub's counters and the
// process's memory, for load tests.
type ServerStats struct {
	Sockets        int64  `json:"sockets"`
	Delivered      int64  `json:"delivered_messages"`
	Kicked         int64  `json:"kicked_slow_consumers"`
	Goroutines     int    `json:"goroutines"`
	HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
	StackBytes     uint64 `json:"stack_inuse_bytes"`
	SysBytes       uint64 `json:"sys_bytes"`
}

// ReadServerStats reads h's counters and the runtime's memory statistics
// (after a garbage collection, so live memory is what is counted).
func ReadServerStats(h *Hub) ServerStats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := h.Stats()
	return ServerStats{Sockets: st.Sockets, Delivered: st.Delivered, Kicked: st.Kicked,
		Goroutines: runtime.NumGoroutine(), HeapInuseBytes: ms.HeapInuse, StackBytes: ms.StackInuse, SysBytes: ms.Sys}
}
