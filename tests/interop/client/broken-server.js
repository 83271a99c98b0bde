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
// HTTP long-polling, same idea: each session answers the CONNECT together with one bad
// body: a huge one, a malformed engine.io payload, invalid base64 binary.
const BAD_POLLING = [
  () => '4' + 'x'.repeat(3 * 1024 * 1024),
  () => 'Z not engine.io',
  () => 'b!!not base64!!',
];
let p = 0;
const sessions = new Map();
function polling(req, res) {
  const url = new URL(req.url, 'http://x');
  const sid = url.searchParams.get('sid');
  if (url.searchParams.get('transport') !== 'polling') { res.writeHead(400); return res.end(); }
  if (!sid) {
    const id = 'p' + ++p;
    sessions.set(id, { bad: BAD_POLLING[p - 1], n: p, queue: [], poll: null });
    res.writeHead(200);
    return res.end('0' + JSON.stringify({ sid: id, upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 }));
  }
  const s = sessions.get(sid);
  if (!s) { res.writeHead(400); return res.end(); }
  const flush = () => {
    if (s.poll && s.queue.length) {
      s.poll.writeHead(200);
      s.poll.end(s.queue.join('\x1e'));
      s.poll = null;
      s.queue = [];
    }
  };
  if (req.method === 'GET') { s.poll = res; return flush(); }
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.writeHead(200);
    res.end('ok');
    for (const packet of body.split('\x1e')) {
      if (packet.startsWith('40')) {
        s.queue.push('40{"sid":"s' + s.n + '"}');
        if (s.bad) s.queue.push(s.bad());
      } else if (packet.startsWith('42["hello"')) {
        s.queue.push('42["hello-back",' + s.n + ']');
      }
    }
    flush();
  });
}
const server = http.createServer((req, res) => {
  if (process.env.MODE === 'polling') return polling(req, res);
  res.writeHead(400);
  res.end();
});
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
