// One Node member of a Redis cluster, driven by a Rust test over stdin/stdout.
//
// A socket.io 4.8 server with @socket.io/redis-adapter 8.3 (classic or sharded) or
// @socket.io/redis-streams-adapter 0.3 (streams; stream name = key prefix) on a free port, and socket.io-client clients connected to it. Everything the clients and the
// server's cluster handlers receive is printed as one JSON line; the test sends commands
// as JSON lines (`{id, op, ...}`) and gets `{type:"reply", id, result|error}` back.
//
// Usage: node node-cluster-node.js <redis-url[,url...]> <key-prefix> <mode> <client-spec>...
//   (several URLs: the seed nodes of a Redis Cluster)
//   mode: classic | sharded-static | sharded-dynamic | sharded-dynamic-private | streams | streams-sharded
//   client-spec: name[@port][:room1,room2]  (with @port: a client of the server on that port)
// Binary values travel in JSON as {"$bin": "<hex>"}.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");
const { io: connect } = require("socket.io-client");
const { createClient, createCluster } = require("redis");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");
const { out, serve, xreadWaiting } = require("./pipe");
const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");

const [url, prefix, mode, ...specs] = process.argv.slice(2);


// Buffers to {"$bin": hex} and back, for the JSON pipe.
function enc(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v.buffer ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v).toString("hex") };
  }
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = enc(x);
    return o;
  }
  return v;
}
function dec(v) {
  if (Array.isArray(v)) return v.map(dec);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = dec(x);
    return o;
  }
  return v;
}

async function main() {
  // Named, so that the streams adapter's reader (a duplicate) can be seen in CLIENT LIST.
  const clientName = `${prefix}-node-${process.pid}`;
  // Several comma-separated URLs: a Redis Cluster (its seed nodes).
  const cluster = url.includes(",");
  const pub = cluster
    ? createCluster({ rootNodes: url.split(",").map((u) => ({ url: u })), defaults: { name: clientName } })
    : createClient({ url, name: clientName });
  const sub = pub.duplicate();
  const emitterClient = pub.duplicate();
  for (const c of [pub, sub, emitterClient]) c.on("error", (e) => out({ type: "redis-error", error: String(e) }));
  await Promise.all([pub.connect(), sub.connect(), emitterClient.connect()]);

  let adapter;
  if (mode === "classic") {
    adapter = createAdapter(pub, sub, { key: prefix, requestsTimeout: 3000 });
  } else if (mode.startsWith("streams")) {
    adapter = createStreamsAdapter(pub, {
      streamName: prefix,
      channelPrefix: prefix,
      sessionKeyPrefix: `${prefix}:session:`,
      useShardedPubSub: mode === "streams-sharded",
      blockTimeInMs: 1000,
    });
  } else {
    const subscriptionMode = mode.replace(/^sharded-/, "");
    adapter = createShardedAdapter(pub, sub, { channelPrefix: prefix, subscriptionMode });
  }
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter });
  const emitter = new Emitter(emitterClient, { key: prefix });

  io.on("connection", (socket) => {
    const { name, rooms } = socket.handshake.auth;
    socket.data = { name };
    for (const r of rooms || []) socket.join(r);
    socket.on("disconnect", (reason) => out({ type: "server-disconnect", name, reason }));
  });
  // Server-side emits from the cluster: every event name, answered when an ack is asked.
  const onSse = (event) => (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    out({ type: "sse", event, args: enc(args) });
    if (ack) ack("node-answer");
  };
  for (const ev of ["sse", "sse-ack", "hello"]) io.on(ev, onSse(ev));

  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  const port = httpServer.address().port;

  const clients = {};
  await Promise.all(
    specs.map((spec) => {
      // `name@port` connects the client to another cluster member (a Rust server).
      const [nameAt, roomList] = spec.split(":");
      const [name, otherPort] = nameAt.split("@");
      const rooms = roomList ? roomList.split(",") : [];
      const c = connect(`http://127.0.0.1:${otherPort || port}`, { auth: { name, rooms }, transports: ["websocket"] });
      clients[name] = c;
      c.onAny((event, ...args) => {
        const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
        out({ type: "recv", client: name, event, args: enc(args) });
        if (ack) ack(`${name}-ack`);
      });
      c.on("disconnect", (reason) => out({ type: "client-disconnect", client: name, reason }));
      return new Promise((r) => c.on("connect", r));
    }),
  );
  const ids = {};
  for (const [name, c] of Object.entries(clients)) ids[name] = c.id;

  const target = (cmd) => {
    let op = io.of(cmd.nsp || "/");
    if (cmd.timeout) op = op.timeout(cmd.timeout);
    for (const r of cmd.rooms || []) op = op.to(r);
    for (const r of cmd.except || []) op = op.except(r);
    return op;
  };
  const emitterTarget = (cmd) => {
    let op = emitter.of(cmd.nsp || "/");
    for (const r of cmd.rooms || []) op = op.to(r);
    for (const r of cmd.except || []) op = op.except(r);
    return op;
  };
  const ops = {
    ids: async () => ids,
    broadcast: async (c) => target(c).emit(c.event, ...dec(c.args || [])),
    broadcastWithAck: async (c) => target(c).emitWithAck(c.event, ...dec(c.args || [])),
    fetchSockets: async (c) =>
      (await target(c).fetchSockets()).map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data })),
    socketsJoin: async (c) => target(c).socketsJoin(c.join),
    socketsLeave: async (c) => target(c).socketsLeave(c.leave),
    disconnectSockets: async (c) => target(c).disconnectSockets(!!c.close),
    allRooms: async (c) => [...(await io.of(c.nsp || "/").adapter.allRooms())],
    serverSideEmit: async (c) => io.of(c.nsp || "/").serverSideEmit(c.event, ...dec(c.args || [])),
    serverSideEmitWithAck: async (c) =>
      io.of(c.nsp || "/").serverSideEmitWithAck(c.event, ...dec(c.args || [])),
    serverCount: async (c) => io.of(c.nsp || "/").adapter.serverCount(),
    localRooms: async (c) => {
      const s = io.of(c.nsp || "/").sockets.get(ids[c.client]);
      return s ? [...s.rooms] : null;
    },
    emitterEmit: async (c) => {
      let op = emitterTarget(c);
      if (c.volatile) op = op.volatile;
      if (c.compress !== undefined) op = op.compress(c.compress);
      return op.emit(c.event, ...dec(c.args || []));
    },
    emitterSocketsJoin: async (c) => emitterTarget(c).socketsJoin(c.join),
    emitterSocketsLeave: async (c) => emitterTarget(c).socketsLeave(c.leave),
    emitterDisconnectSockets: async (c) => emitterTarget(c).disconnectSockets(!!c.close),
    emitterServerSideEmit: async (c) => emitter.of(c.nsp || "/").serverSideEmit(c.event, ...dec(c.args || [])),
    publishRaw: async (c) => pub.publish(c.channel, Buffer.from(c.hex, "hex")),
  };

  serve(ops, async () => {
    for (const c of Object.values(clients)) c.close();
    io.close();
    await Promise.allSettled([pub.quit(), sub.quit(), emitterClient.quit()]);
    process.exit(0);
  }, enc);
  // (On a cluster, the test itself waits for the reader: CLIENT LIST is per node.)
  if (mode.startsWith("streams") && !cluster) {
    // The streams adapter reads from "$" until its first entry: what is appended before its
    // first XREAD blocks is never read. Ready only once that XREAD is waiting.
    await xreadWaiting(pub, clientName);
  }
  out({ type: "ready", port, ids });
}

main().catch((e) => {
  out({ type: "fatal", error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
});
