// A socket.io 4.8 server with the seed's server-helper semantics, for the client helper
// tests: connection -> unauthorized; `authenticate` checks handshake.auth.token;
// success -> ping, default rooms, join/leave handlers, ping interval, `authenticated {id,time}`;
// failure -> `unauthenticated`, then disconnect. Env: PORT, PING_MS.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval: 1000, pingTimeout: 1000 });
const PING_MS = Number(process.env.PING_MS || 30000);
const DEFAULT_ROOMS = ['io-default', 'io-notification'];

io.on('connection', (socket) => {
  let state = 'unauthorized';
  let interval;
  const authTimeout = setTimeout(() => {
    if (state !== 'authenticated') socket.disconnect();
  }, 10000);
  socket.on('disconnect', () => {
    clearTimeout(authTimeout);
    clearInterval(interval);
  });
  const ping = () => socket.emit('ping', { time: new Date().toISOString() });
  socket.on('authenticate', () => {
    state = 'authenticating';
    if (socket.handshake.auth && socket.handshake.auth.token === 'good') {
      state = 'authenticated';
      clearTimeout(authTimeout);
      ping();
      socket.join(DEFAULT_ROOMS);
      socket.on('join', ({ rooms }) => socket.join(rooms));
      socket.on('leave', ({ rooms }) => rooms.forEach((r) => socket.leave(r)));
      socket.on('rooms', (cb) => cb([...socket.rooms].filter((r) => r !== socket.id).sort()));
      socket.on('message', (data) => socket.emit('message-back', data));
      // Acked, several arguments: their sum.
      socket.on('sum', (...args) => {
        const cb = args.pop();
        cb(args.reduce((a, b) => a + b, 0), args.length);
      });
      // The server asks the client (emitWithAck) and hands back its answer.
      socket.on('ask', async (cb) => {
        try {
          cb(await socket.timeout(5000).emitWithAck('question', 'q?'));
        } catch (e) {
          cb('no answer: ' + e);
        }
      });
      // Closes the connection: the client reconnects and authenticates again.
      socket.on('drop', () => socket.conn.close());
      interval = setInterval(ping, PING_MS);
      socket.emit('authenticated', { id: socket.id, time: new Date().toISOString() });
    } else {
      state = 'unauthorized';
      socket.emit('unauthenticated', { message: 'Invalid token' });
      setTimeout(() => socket.disconnect(), 50);
    }
  });
});

httpServer.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log('PORT ' + httpServer.address().port);
});
process.on('SIGTERM', () => process.exit(0));
