// socket.io 4.8 server for sio-client's interop tests.
// Env: PORT (0 = any free port), PARSER=msgpack, RECOVERY=1, SIO_PATH (engine.io path),
// NO_UPGRADE=1.
// Prints "PORT <n>" once listening.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const opts = { pingInterval: 2000, pingTimeout: 2000, maxHttpBufferSize: 1e7 };
if (process.env.SIO_PATH) opts.path = process.env.SIO_PATH;
if (process.env.PARSER === 'msgpack') opts.parser = require('socket.io-msgpack-parser');
if (process.env.RECOVERY === '1') {
  opts.connectionStateRecovery = { maxDisconnectionDuration: 60000, skipMiddlewares: true };
}
const httpServer = http.createServer();
const io = new Server(httpServer, opts);
// NO_UPGRADE=1: every WebSocket of a polling session (an upgrade) is refused.
if (process.env.NO_UPGRADE === '1') {
  io.engine.use((req, res, next) => {
    const q = new URL(req.url, 'http://x').searchParams;
    next(q.get('transport') === 'websocket' && q.get('sid') ? new Error('no upgrade') : undefined);
  });
}
const seen = new Map(); // retries test: how often each id arrived
const notes = new Map();
const leftWith = new Map();

function common(socket) {
  socket.emit('welcome', { id: socket.id, nsp: socket.nsp.name, auth: socket.handshake.auth });
  socket.on('echo', (...args) => socket.emit('echo-back', ...args));
  socket.on('echo-ack', (...args) => {
    const cb = args.pop();
    cb(...args);
  });
  socket.on('transport', (cb) => cb(socket.conn.transport.name));
  socket.on('auth', (cb) => cb(socket.handshake.auth));
  socket.on('handshake', (cb) =>
    cb({ q: socket.handshake.query.q || null, header: socket.handshake.headers['x-sio-test'] || null }),
  );
  socket.on('is-buffer', (data, cb) => cb(Buffer.isBuffer(data), Buffer.isBuffer(data) ? data.length : -1));
  socket.on('send-binary', (n, cb) => {
    socket.emit('binary', Buffer.from([...Array(n).keys()].map((i) => i % 256)), { nested: Buffer.from('hi') });
    if (cb) cb();
  });
  socket.on('ask-client', async (...args) => {
    const cb = args.pop();
    try {
      const reply = await socket.timeout(5000).emitWithAck('question', ...args);
      cb({ ok: true, reply });
    } catch (e) {
      cb({ ok: false, error: String(e) });
    }
  });
  socket.on('store', (data, cb) => {
    const n = (seen.get(data.id) || 0) + 1;
    seen.set(data.id, n);
    // First arrival: drop the whole connection without acknowledging.
    if (n === 1) return socket.conn.close();
    cb('stored');
  });
  socket.on('seen', (id, cb) => cb(seen.get(id) || 0));
  socket.on('kick', () => socket.disconnect());
  socket.on('drop', () => socket.conn.close());
  // Nagle test: the arrival time of two back-to-back emits, and the gap between them in µs.
  let arrivals = [];
  socket.on('gap:a', () => (arrivals = [process.hrtime.bigint()]));
  socket.on('gap:b', () => arrivals.push(process.hrtime.bigint()));
  socket.on('gap:get', (cb) => cb(arrivals.length === 2 ? Number((arrivals[1] - arrivals[0]) / 1000n) : -1));
  // Reason tests: the process dies (as under SIGKILL), or stops answering for `ms`.
  socket.on('die', () => process.kill(process.pid, 'SIGKILL'));
  socket.on('freeze', (ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {}
  });
  // Closing tests: how many `note`s of a tag reached the server, and why their socket
  // left. Counted as engine.io packets: socket.io drops events read in the same chunk as
  // the DISCONNECT after them (it dispatches events on the next tick, once disconnected).
  const tag = socket.handshake.auth && socket.handshake.auth.tag;
  if (tag) {
    socket.conn.on('packet', (p) => {
      if (p.type === 'message' && typeof p.data === 'string' && p.data.includes('"note"')) {
        notes.set(tag, (notes.get(tag) || 0) + 1);
      }
    });
    socket.on('disconnect', (reason) => leftWith.set(tag, reason));
  }
  socket.on('notes', (tag, cb) => cb(notes.get(tag) || 0, leftWith.get(tag) || null));
  socket.on('broadcast-offset', (msg) => io.of(socket.nsp.name).emit('news', msg));
  // flags tests: every event name this socket received, in order, and a burst of events.
  const received = [];
  socket.onAny((event) => received.push(event));
  socket.on('flags:received', (cb) => cb(received));
  socket.on('flags:burst', (tag, cb) => {
    socket.emit('flags:one', tag, 1, { k: 'v' });
    socket.emit('flags:two');
    socket.emit('flags:done', tag);
    if (cb) cb();
  });
}

io.on('connection', (socket) => {
  socket.emit('recovered', socket.recovered);
  common(socket);
});
io.of('/admin').use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.role === 'admin') return next();
  next(new Error('admins only'));
});
io.of('/admin').on('connection', common);

httpServer.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log('PORT ' + httpServer.address().port);
});
process.on('SIGTERM', () => process.exit(0));
