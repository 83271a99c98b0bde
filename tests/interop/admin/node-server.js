// A Node socket.io 4.8 server instrumented by @socket.io/admin-ui 0.5 (no auth, server id
// `node-peer`, development mode) on @socket.io/redis-adapter 8.3 with the key prefix
// env KEY_PREFIX, on env PORT (0: a free one); prints `PORT <port>`. The admin UI test's
// Node peer.
'use strict';
const http = require('node:http');
const { Server } = require('socket.io');
const { createClient } = require('redis');
const { createAdapter } = require('@socket.io/redis-adapter');
const { instrument } = require('@socket.io/admin-ui');

const prefix = process.env.KEY_PREFIX;

(async () => {
  const pub = createClient({ url: 'redis://127.0.0.1:6379' });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const server = http.createServer();
  const io = new Server(server, { adapter: createAdapter(pub, sub, { key: prefix, requestsTimeout: 5000 }) });
  io.on('connection', (socket) => {
    socket.on('echo', (...args) => socket.emit('echo-back', ...args));
  });
  instrument(io, { auth: false, serverId: 'node-peer', mode: 'development' });
  server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
  // The test kills this process; closing stdin also ends it.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
