// The Node side of scenario C1 of `cargo xtask bench`: socket.io-client 4.8 as the load,
// beside bench/harness/src/bin/sio-bench-client.rs (sio-client), against the same server.
// Same phases, options and JSON figures as the Rust binary: `sockets` clients (one
// connection each, WebSocket only) connect + authenticate `inflight` at a time, then every
// socket emits `acks` sequential acked `echo` events.
// Usage: node client-load.js ports=P pids=PID sockets=N inflight=N acks=N
'use strict';
const fs = require('fs');
const { Manager } = require('socket.io-client');

const opts = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const num = (k, d) => (opts[k] === undefined ? d : Number(opts[k]));
const port = Number((opts.ports || '').split(',')[0]);
const pids = (opts.pids || '').split(',').filter(Boolean).map(Number);
const [n, inflight, per] = [num('sockets', 200), num('inflight', 50), num('acks', 100)];
const PATIENCE_MS = 30000;

// CPU seconds of a process from /proc (utime + stime, in clock ticks of 1/100 s).
function procCpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch (e) {
    return NaN;
  }
}
const cpu = () => {
  const me = process.cpuUsage();
  return [pids.reduce((s, p) => s + procCpu(p), 0), (me.user + me.system) / 1e6];
};

function open() {
  return new Promise((resolve, reject) => {
    const manager = new Manager(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      reconnection: false,
      autoConnect: false,
    });
    const socket = manager.socket('/', { auth: { token: 'bench' } });
    const timer = setTimeout(() => reject(new Error('not authenticated in time')), PATIENCE_MS);
    socket.on('connect', () => socket.emit('authenticate'));
    socket.on('authenticated', () => {
      clearTimeout(timer);
      resolve({ manager, socket });
    });
    socket.on('unauthenticated', () => reject(new Error('unauthenticated')));
    socket.on('connect_error', (e) => reject(e));
    socket.connect();
  });
}

function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  if (!port) throw new Error('ports= is required');
  const [server0, me0] = cpu();
  const t0 = process.hrtime.bigint();
  let next = 0;
  const clients = [];
  const errors = [];
  await Promise.all(
    Array.from({ length: Math.max(1, inflight) }, async () => {
      while (next++ < n) {
        try {
          clients.push(await open());
        } catch (e) {
          errors.push(String(e));
        }
      }
    }),
  );
  const connectWall = Number(process.hrtime.bigint() - t0) / 1e9;
  const [, me1] = cpu();

  const t1 = process.hrtime.bigint();
  const lats = [];
  await Promise.all(
    clients.map(async ({ socket }) => {
      for (let i = 0; i < per; i++) {
        const t = process.hrtime.bigint();
        try {
          await socket.timeout(PATIENCE_MS).emitWithAck('echo', `${i}:ack`);
        } catch (e) {
          break;
        }
        lats.push(Number(process.hrtime.bigint() - t) / 1000);
      }
    }),
  );
  const acksWall = Number(process.hrtime.bigint() - t1) / 1e9;
  const [server2, me2] = cpu();
  for (const { socket } of clients) socket.disconnect();
  lats.sort((a, b) => a - b);
  const rts = lats.length;
  console.log(
    JSON.stringify({
      sockets: n,
      authenticated: clients.length,
      errors: errors.length,
      first_error: errors[0] || null,
      sockets_per_s: clients.length / connectWall,
      round_trips: rts,
      expected: clients.length * per,
      round_trips_per_s: rts / acksWall,
      client_cpu_us_per_rt: rts > 0 ? ((me2 - me1) / rts) * 1e6 : 0,
      client_cpu_ms_per_socket: clients.length ? ((me1 - me0) / clients.length) * 1e3 : 0,
      client_cpu_s: me2 - me0,
      server_cpu_s: server2 - server0,
      p50_ms: quantile(lats, 0.5) / 1000,
      p99_ms: quantile(lats, 0.99) / 1000,
    }),
  );
  process.exit(0);
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e) }));
  process.exit(1);
});
