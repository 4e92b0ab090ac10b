package natsadapter

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startTimeout bounds how long StartServer waits for the embedded server to
// accept connections.
const startTimeout = 5 * time.Second

// A Server is a nats-server running inside this process: netlab's
// zero-setup broker. Other processes can use it too, at URL().
type Server struct {
	s *server.Server
}

// StartServer starts an embedded nats-server listening on addr ("host:port";
// "" means 127.0.0.1 on a free port, as does port 0). Logging and signal
// handling are off; JetStream is not used.
func StartServer(addr string) (*Server, error) {
	host, port := "127.0.0.1", 0
	if addr != "" {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("natsadapter: embedded server address %q: %w", addr, err)
		}
		if h != "" {
			host = h
		}
		if port, err = strconv.Atoi(p); err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("natsadapter: embedded server port %q: want 0-65535", p)
		}
	}
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as its default, 4222
	} else {
		// nats-server, logging off, only times out on a port in use: say
		// why at once.
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("natsadapter: embedded server: %w", err)
		}
		_ = l.Close()
	}
	s, err := server.NewServer(&server.Options{
		ServerName: "netlab-embedded",
		Host:       host,
		Port:       port,
		NoLog:      true,
		NoSigs:     true,
		HTTPPort:   0, // no monitoring endpoint
	})
	if err != nil {
		return nil, fmt.Errorf("natsadapter: embedded server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(startTimeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("natsadapter: embedded server on %s did not start within %v (port in use?)", net.JoinHostPort(host, strconv.Itoa(max(port, 0))), startTimeout)
	}
	return &Server{s: s}, nil
}

// URL is the address clients connect to, e.g. nats://127.0.0.1:43517.
func (s *Server) URL() string { return s.s.ClientURL() }

// Addr is the address the server listens on (host:port).
func (s *Server) Addr() string { return s.s.Addr().String() }

// Clients is the number of client connections the server holds now.
func (s *Server) Clients() int { return s.s.NumClients() }

// Close shuts the server down (every client connection is cut) and waits
// until it has stopped. It is idempotent.
func (s *Server) Close() error {
	s.s.Shutdown()
	s.s.WaitForShutdown()
	return nil
}
