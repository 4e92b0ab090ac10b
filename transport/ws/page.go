package ws

// testPage is served to a browser that opens the WebSocket URL as a page: it
// connects back to the same URL, sends what you type and shows what comes
// back.
const testPage = `<!doctype html>
<meta charset="utf-8">
<title>netlab ws</title>
<h1>netlab ws</h1>
<p>Type a message and press Enter; it goes out as one WebSocket text frame.</p>
<input id="msg" autofocus size="60">
<pre id="log"></pre>
<script>
const log = (s) => { document.getElementById("log").textContent += s + "\n"; };
const ws = new WebSocket(location.href.replace(/^http/, "ws"));
ws.onopen = () => log("open " + ws.url);
ws.onmessage = (e) => log("recv " + e.data);
ws.onclose = (e) => log("close " + e.code + " " + e.reason);
document.getElementById("msg").onkeydown = (e) => {
  if (e.key === "Enter") { ws.send(e.target.value); log("sent " + e.target.value); e.target.value = ""; }
};
</script>
`
