// closes.js: the real Node socket.io server, for seeing how it ends a
// WebSocket: a client that emits "kick" is disconnected by the server
// (socket.disconnect(true)); a line "close" on stdin closes the server
// (io.close()); PING_MS, if set, is both pingInterval and pingTimeout, for
// a client that does not answer pings. On 127.0.0.1, a free port; prints
// {"port":N} when listening; stops when stdin closes.
const { createServer } = require("http");
const { Server } = require("socket.io");
const ping = Number(process.env.PING_MS || 0);
const http = createServer();
const io = new Server(http, ping ? { pingInterval: ping, pingTimeout: ping } : {});
io.on("connection", (socket) => {
  socket.on("kick", () => socket.disconnect(true));
});
http.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: http.address().port })));
process.stdin.on("data", (b) => { if (String(b).includes("close")) io.close(); });
process.stdin.on("end", () => process.exit(0));
