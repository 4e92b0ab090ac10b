package chat

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Limits on what clients send.
const (
	// MaxRoomName is the longest room name, in bytes.
	MaxRoomName = 32
	// MaxNick is the longest nickname, in bytes.
	MaxNick = 24
	// MaxText is the longest chat message, in bytes.
	MaxText = 1000
)

// newID returns a random, unguessable socket id: 16 bytes of crypto/rand
// (128 bits) in unpadded base64url, 22 characters.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand docs)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CheckRoom reports whether name may be used as a room name: 1 to 32 bytes of
// ASCII letters, digits, '-', '_' and '.'.
func CheckRoom(name string) error {
	if err := checkName(name, MaxRoomName); err != nil {
		return fmt.Errorf("chat: invalid room name %q: %w", clip(name), err)
	}
	return nil
}

// CheckNick reports whether name may be used as a nickname (same rules as a
// room name, up to 24 bytes).
func CheckNick(name string) error {
	if err := checkName(name, MaxNick); err != nil {
		return fmt.Errorf("chat: invalid name %q: %w", clip(name), err)
	}
	return nil
}

func checkName(name string, max int) error {
	if name == "" {
		return fmt.Errorf("empty")
	}
	if len(name) > max {
		return fmt.Errorf("%d bytes, at most %d", len(name), max)
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("use letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
