// Reference server for sio's protocol conformance tests: the official socket.io 4.8
// configured as the socket.io-protocol / engine.io-protocol test suites expect.
//
// Contract (shared with the Rust `sio-conformance-server`): env PORT (0 = any free port),
// prints `LISTENING <port>` on stdout once ready, path /socket.io/, pingInterval 300 ms,
// pingTimeout 200 ms, maxPayload 1 000 000, connectTimeout 1000 ms, CORS *, namespaces
// `/` and `/custom` that emit `auth` with the handshake auth on connect, echo `message`
// as `message-back` and ack `message-with-ack` with its arguments.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  connectTimeout: 1000,
  cors: { origin: "*" },
});

function onConnection(socket) {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") {
      ack(...args);
    }
  });
}

io.of("/").on("connection", onConnection);
io.of("/custom").on("connection", onConnection);

// The test harness holds our stdin open; when it goes away (test ended, or the test
// process died without killing us) there is nobody left to serve.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();

const port = Number(process.env.PORT ?? 3000);
httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});
