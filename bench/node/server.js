// The Node peer of `cargo xtask bench`: seed semantics on socket.io 4.8 (+ redis-adapter and
// redis-emitter in cluster mode). Same protocol as bench/harness/src/bin/sio-bench-ours.rs.
// Usage: node server.js PORT [REDIS_URL KEY_PREFIX]; env BENCH_PING_MS (default 30000).
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const TOKEN = 'bench';
const DEFAULT_ROOMS = ['io-default', 'io-notification'];
const AUTH_TIMEOUT_MS = 10000;
const PING_MS = Number(process.env.BENCH_PING_MS || 30000);

async function main() {
  const [port, redisUrl, prefix] = process.argv.slice(2);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { transports: ['websocket', 'polling'] });
  let emitter = null;
  const clients = [];
  // `?adapter=streams` in the URL: @socket.io/redis-streams-adapter (S4's `streams` rows);
  // `send` then goes through it, as the redis emitter speaks the classic protocol only.
  const streams = Boolean(redisUrl) && /[?&]adapter=streams\b/.test(redisUrl);
  if (streams) {
    const { createClient } = require('redis');
    const { createAdapter } = require('@socket.io/redis-streams-adapter');
    const pub = createClient({ url: redisUrl.replace(/\?.*$/, '') });
    await pub.connect();
    clients.push(pub);
    // The stream keeps its default name (`socket.io`), as ours does; the channels take the run's prefix.
    io.adapter(createAdapter(pub, { channelPrefix: prefix }));
  } else if (redisUrl) {
    const { createClient } = require('redis');
    const { createAdapter } = require('@socket.io/redis-adapter');
    const { Emitter } = require('@socket.io/redis-emitter');
    const pub = createClient({ url: redisUrl });
    const sub = pub.duplicate();
    const em = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect(), em.connect()]);
    clients.push(pub, sub, em);
    io.adapter(createAdapter(pub, sub, { key: prefix }));
    emitter = new Emitter(em, { key: prefix });
  }

  const rooms = (data) => (data && Array.isArray(data.rooms) ? data.rooms.filter((r) => typeof r === 'string') : []);

  io.on('connection', (socket) => {
    const client = { state: 'unauthorized', interval: null };
    client.authenticateTimeout = setTimeout(() => socket.disconnect(), AUTH_TIMEOUT_MS);
    socket.on('disconnect', () => {
      clearTimeout(client.authenticateTimeout);
      clearInterval(client.interval);
    });
    socket.on('authenticate', () => {
      const auth = socket.handshake.auth || {};
      if (auth.token !== TOKEN) {
        socket.emit('unauthenticated', { message: 'bad token' });
        socket.disconnect();
        return;
      }
      client.state = 'authenticated';
      clearTimeout(client.authenticateTimeout);
      socket.emit('ping', { time: new Date().toISOString() });
      socket.join(DEFAULT_ROOMS);
      socket.on('join', (data, cb) => {
        socket.join(rooms(data));
        if (typeof cb === 'function') cb();
      });
      socket.on('leave', (data, cb) => {
        for (const r of rooms(data)) socket.leave(r);
        if (typeof cb === 'function') cb();
      });
      client.interval = setInterval(() => socket.emit('ping', { time: new Date().toISOString() }), PING_MS);
      socket.emit('authenticated', { id: socket.id, time: new Date().toISOString() });
    });
    socket.on('echo', (...args) => {
      const cb = args.pop();
      if (typeof cb === 'function') cb(...args);
    });
    socket.on('bcast', (room, data) => {
      io.to(room).emit('msg', data);
    });
    socket.on('send', (room, data) => {
      if (emitter) emitter.to(room).compress(true).emit('msg', data);
      else io.to(room).compress(true).emit('msg', data);
    });
  });

  httpServer.listen(Number(port), '127.0.0.1', () => console.log(`listening 127.0.0.1:${httpServer.address().port}`));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
