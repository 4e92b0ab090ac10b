// server.js: the real Node socket.io server with the chat lab's events (as
// netlab socketio serve has them), on 127.0.0.1, a free port. Prints
// {"port":N} when listening; stops when stdin closes.
const { createServer } = require("http");
const { Server } = require("socket.io");
const recovery = Number(process.env.RECOVERY_MS || 120000);
const http = createServer();
const io = new Server(http, {
  connectionStateRecovery: { maxDisconnectionDuration: recovery, skipMiddlewares: true },
});
io.on("connection", (socket) => {
  socket.emit("welcome", { id: socket.id, transport: socket.conn.transport.name, recovered: socket.recovered });
  const rooms = () => [...socket.rooms].sort();
  socket.on("echo", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop()(...args);
    else socket.emit("echo", ...args);
  });
  socket.on("ask", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") socket.emit("question", ...args, (...answer) => ack(...answer));
  });
  socket.on("join", (room, ack) => { socket.join(room); if (ack) ack(rooms()); });
  socket.on("leave", (room, ack) => { socket.leave(room); if (ack) ack(rooms()); });
  socket.on("rooms", (ack) => ack(rooms()));
  socket.on("members", async (room, ack) => ack((await io.in(room).fetchSockets()).map((s) => s.id).sort()));
  socket.on("chat", (room, text) => socket.to(room).emit("chat", { from: socket.id, room, text }));
  socket.on("broadcast", (text) => socket.broadcast.emit("chat", { from: socket.id, text }));
  socket.on("all", (text) => io.emit("chat", { from: socket.id, text }));
});
http.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: http.address().port })));
process.stdin.on("end", () => { io.close(); process.exit(0); });
process.stdin.resume();
