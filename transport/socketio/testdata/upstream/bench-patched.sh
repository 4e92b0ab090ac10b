#!/usr/bin/env bash
# Runs the Socket.IO round-trip benchmarks against the server library with
# queue-linger.patch applied (a proposed upstream fix: the library's task
# queue keeps its worker goroutine between tasks instead of starting one per
# event and per write), so the figures can be set beside the released
# v3.0.6 that netlab pins. Nothing in the repository changes: the patched
# copy and the go.mod that points at it live in a temporary directory.
#
#   transport/socketio/testdata/upstream/bench-patched.sh
#   BENCH=GoClientVsWebSocket COUNT=3 transport/socketio/testdata/upstream/bench-patched.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
src="$(go list -m -f '{{.Dir}}' github.com/zishang520/socket.io/v3)"
cp -r "$src" "$work/v3"
chmod -R u+w "$work/v3"
(cd "$work/v3" && patch -s -p1 <"$here/queue-linger.patch")
cp go.mod "$work/go.mod"
cp go.sum "$work/go.sum"
go mod edit -modfile "$work/go.mod" -replace "github.com/zishang520/socket.io/v3=$work/v3"
go test -modfile "$work/go.mod" -run '^$' -bench "${BENCH:-SocketIOPaths}" \
	-benchtime "${BENCHTIME:-5000x}" -count "${COUNT:-5}" ./transport/socketio/
