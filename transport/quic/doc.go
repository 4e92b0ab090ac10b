// Package quic is netlab's QUIC transport (RFC 9000, with TLS 1.3 inside
// it as RFC 9001 describes) on github.com/quic-go/quic-go: one QUIC
// connection over UDP per client, messages on QUIC streams.
//
// Two ways to put messages on streams (Options.PerMessage):
//
//   - One stream each way (the default, "quic"): each side opens one
//     unidirectional stream and writes every message on it, framed as a
//     4-byte big-endian length and the message's wire form
//     (transport.Encode). Messages arrive reliably and in order, like TCP;
//     a lost packet holds up every message behind it on that stream.
//   - A stream per message ("quic-streams"): every message goes on a
//     unidirectional stream of its own ('M' and the wire form, then the
//     stream's end). Streams are independent: a lost packet holds up only
//     the message whose stream it carried, and messages can arrive out of
//     order (Info.Ordered is false). This is the head-of-line blocking QUIC
//     was built to remove (RFC 9000, section 2). The receiver reads each
//     stream in a goroutine of its own: one reader for all of them would
//     put the blocking back.
//
// Closing: the closing side writes what is queued, then ends its stream
// (FIN; in per-message mode, a last stream 'E' with the number of messages
// sent); the peer, having read everything, reports io.EOF and closes the
// connection (application error 0); the closer waits for that at most two
// seconds, then closes it itself.
//
// The handshake is QUIC's: the client's first flight carries TLS's
// ClientHello, the server answers with its whole handshake, and the client
// can send data with its Finished: one round trip before the first byte,
// where TCP+TLS 1.3 needs two (SYN/SYN-ACK, then ClientHello/Finished).
//
// Certificates: Listen uses a self-signed certificate for 127.0.0.1 and
// localhost, made in memory when the process starts its first QUIC
// transport; a client in the same process trusts exactly that certificate.
// A client in another process cannot know it and, with
// Options.InsecureSkipVerify, does not check it. This is a lab, not a trust
// model.
//
// Bytes on the wire are the UDP payloads (QUIC packets, encrypted, headers
// included) each end read and wrote for that connection; IP and UDP
// headers are not counted, as the TCP transports do not count IP and TCP
// headers.
package quic
