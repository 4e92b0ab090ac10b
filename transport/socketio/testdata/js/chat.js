// chat.js URL: two real socket.io-clients in netlab's chat server (its
// Socket.IO door): ada and bob join "math", cy stays out; ada chats to
// math. Prints what each received as JSON; exits 1 after 10 s.
const { io } = require("socket.io-client");
const url = process.argv[2];
setTimeout(() => { console.log(JSON.stringify({ error: "timeout" })); process.exit(1); }, 10000);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const got = {};
  const people = {};
  for (const name of ["ada", "bob", "cy"]) {
    const s = io(url, { forceNew: true });
    got[name] = [];
    s.on("chat", (m) => got[name].push(m.text));
    await new Promise((r) => s.once("connect", r));
    people[name] = s;
  }
  people.ada.emit("join", "math");
  people.bob.emit("join", "math");
  await wait(300);
  people.ada.emit("chat", "math", "2+2=4");
  await wait(300);
  const transport = people.ada.io.engine.transport.name;
  console.log(JSON.stringify({ transport, got }));
  for (const s of Object.values(people)) s.close();
  process.exit(0);
})();
