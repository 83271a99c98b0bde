// Connection state recovery across a cluster, driven by a Rust test over stdin/stdout.
//
//   node recovery.js server <redis-url> <prefix> <maxDisconnectionMs>
//     A socket.io 4.8 server on the @socket.io/redis-streams-adapter 0.3 (stream and channel
//     prefix <prefix>, sessions under <prefix>:session:) with connectionStateRecovery, on a
//     free port. Sockets join the rooms of their auth `rooms`. Commands:
//       {id, op:"emit", rooms?, event, args}   io.to(rooms).emit(event, ...args)
//       {id, op:"emitTo", sid, event, args}    the socket's own socket.emit (through the adapter)
//   node recovery.js clients
//     socket.io-client 4.8 clients over WebSocket, reconnecting fast. Commands:
//       {id, op:"connect", name, port, rooms?}  reports {type:"connect", client, sid, recovered}
//                                               on every (re)connection
//       {id, op:"drop", name}                   closes the engine (the client reconnects)
//     and every event a client gets: {type:"recv", client, event, args}.
// Every line out is JSON; replies are {type:"reply", id, result|error}.
"use strict";

const http = require("node:http");
const { out, serve, xreadWaiting } = require("./pipe");

async function server(url, prefix, maxDisconnectionDuration) {
  const { Server } = require("socket.io");
  const { createClient } = require("redis");
  const { createAdapter } = require("@socket.io/redis-streams-adapter");
  const clientName = `${prefix}-node-${process.pid}`;
  const redis = createClient({ url, name: clientName });
  redis.on("error", (e) => out({ type: "redis-error", error: String(e) }));
  await redis.connect();
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    transports: ["websocket"],
    connectionStateRecovery: { maxDisconnectionDuration, skipMiddlewares: true },
    adapter: createAdapter(redis, {
      streamName: prefix,
      channelPrefix: prefix,
      sessionKeyPrefix: `${prefix}:session:`,
      blockTimeInMs: 1000,
    }),
  });
  const sockets = new Map();
  io.on("connection", (socket) => {
    sockets.set(socket.id, socket);
    if (!socket.recovered) {
      for (const r of socket.handshake.auth.rooms || []) socket.join(r);
    }
    out({ type: "server-connect", sid: socket.id, recovered: socket.recovered, rooms: [...socket.rooms] });
    socket.on("disconnect", () => sockets.delete(socket.id));
  });
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  await xreadWaiting(redis, clientName);
  const ops = {
    emit: ({ rooms, event, args }) => {
      (rooms && rooms.length ? io.to(rooms) : io).emit(event, ...args);
    },
    emitTo: ({ sid, event, args }) => {
      const s = sockets.get(sid);
      if (!s) throw new Error(`no socket ${sid}`);
      s.emit(event, ...args);
    },
  };
  serve(ops, () => {
    io.close();
    redis.quit().finally(() => process.exit(0));
  });
  out({ type: "ready", port: httpServer.address().port });
}

function clients() {
  const { io } = require("socket.io-client");
  const all = {};
  const ops = {
    connect: ({ name, port, rooms }) =>
      new Promise((resolve, reject) => {
        const c = io(`http://127.0.0.1:${port}`, {
          transports: ["websocket"],
          reconnectionDelay: 50,
          reconnectionDelayMax: 100,
          randomizationFactor: 0,
          auth: { name, rooms: rooms || [] },
        });
        all[name] = c;
        c.on("connect", () => {
          out({ type: "connect", client: name, sid: c.id, recovered: c.recovered });
          resolve(c.id);
        });
        c.on("connect_error", (e) => out({ type: "connect-error", client: name, error: String(e) }));
        c.on("disconnect", (reason) => out({ type: "disconnect", client: name, reason }));
        c.onAny((event, ...args) => out({ type: "recv", client: name, event, args }));
        setTimeout(() => reject(new Error("connect timeout")), 8000).unref();
      }),
    drop: ({ name }) => {
      all[name].io.engine.close();
    },
  };
  serve(ops, () => {
    for (const c of Object.values(all)) c.close();
    process.exit(0);
  });
  out({ type: "ready" });
}

const [role, ...rest] = process.argv.slice(2);
(role === "server" ? server(rest[0], rest[1], Number(rest[2])) : Promise.resolve(clients())).catch((e) => {
  out({ type: "fatal", error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
});
