// socket.io 4.8 over HTTPS for sio-client's `tls` feature tests. Env: PORT, TLS_DIR (holding
// localhost.crt and localhost.key). Prints "PORT <n>" once listening.
'use strict';
const fs = require('fs');
const path = require('path');
const https = require('https');
const { Server } = require('socket.io');

const dir = process.env.TLS_DIR;
const server = https.createServer({
  key: fs.readFileSync(path.join(dir, 'localhost.key')),
  cert: fs.readFileSync(path.join(dir, 'localhost.crt')),
});
const io = new Server(server);
io.on('connection', (socket) => {
  socket.on('echo-ack', (...args) => args.pop()(...args));
  socket.on('transport', (cb) => cb(socket.conn.transport.name));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log('PORT ' + server.address().port);
});
process.on('SIGTERM', () => process.exit(0));
