// A deliberately broken engine.io/socket.io server (raw `ws`): it completes the handshake,
// accepts the namespace CONNECT, then sends one kind of bad input per connection, in order:
// malformed socket.io packet, unexpected binary frame, huge payload, malformed engine.io
// packet. After the list, connections behave and answer `hello` with `hello-back`.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const BAD = [
  () => '4Zthis is not socket.io',
  () => Buffer.from([1, 2, 3]),
  () => '42["big","' + 'x'.repeat(3 * 1024 * 1024) + '"]',
  () => '9nonsense',
];
let n = 0;
const server = http.createServer((req, res) => { res.writeHead(400); res.end(); });
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  const bad = BAD[n++];
  ws.send('0' + JSON.stringify({ sid: 'broken' + n, upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 }));
  ws.on('message', (data, isBinary) => {
    const text = data.toString();
    if (isBinary) return;
    if (text.startsWith('40')) {
      ws.send('40{"sid":"s' + n + '"}');
      if (bad) setTimeout(() => ws.send(bad()), 20);
    } else if (text.startsWith('42["hello"')) {
      ws.send('42["hello-back",' + n + ']');
    }
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log('PORT ' + server.address().port);
});
process.on('SIGTERM', () => process.exit(0));
