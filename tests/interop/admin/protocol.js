// The admin UI protocol (@socket.io/admin-ui 0.5) as the admin page speaks it, against
// one server. argv: <url> <scenario> where scenario is one of:
//   auth        basic auth refused and accepted, the session id it hands out
//   development config, all_sockets, socket/room/event notifications, the four actions
//   readonly    the features list without actions, and actions ignored
//   production  config without ALL_EVENTS, aggregated stats only
// Credentials: admin / admin-test (auth) or none (the other scenarios).
'use strict';
const { run, done, emitAck, url } = require('../server/lib');
const { admin, refused, isDate, connect, check, once } = require('./lib');

const scenario = process.argv[3];
const GOOD = { username: 'admin', password: 'admin-test' };
const ALL = ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS', 'ALL_EVENTS'];
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function auth() {
  for (const bad of [{}, { username: 'admin', password: 'nope' }, { username: 'root', password: 'admin-test' }, { sessionId: 'forged' }]) {
    const err = await refused(url, bad);
    check(err.message === 'invalid credentials', `refusal of ${JSON.stringify(bad)}: ${err.message}`);
  }
  const a = admin(url, GOOD);
  await once(a, 'connect');
  const [sessionId] = await a.waitFor('session');
  const [config] = await a.waitFor('config');
  check(typeof sessionId === 'string' && sessionId.length >= 8, `session id ${sessionId}`);
  check(a.log[0].event === 'session', `first event ${a.log[0].event}, want session`);
  check(same(config.supportedFeatures, ALL), `features ${config.supportedFeatures}`);
  // The page reconnects with its session id instead of the password.
  const b = admin(url, { sessionId });
  await once(b, 'connect');
  await b.waitFor('config');
  check(b.seen('session').length === 0, 'a session login got a new session');
  a.close();
  b.close();
  done({ sessionId: sessionId.length });
}

async function development() {
  const pre = connect('/', { transports: ['websocket'] });
  await once(pre, 'connect');
  await emitAck(pre, 'join', 'pre-room');
  const a = admin(url, {});
  await once(a, 'connect');
  const [config] = await a.waitFor('config');
  check(same(config.supportedFeatures, ALL), `features ${config.supportedFeatures}`);
  const [all] = await a.waitFor('all_sockets');
  const listed = all.find((s) => s.id === pre.id);
  check(listed, `all_sockets lacks ${pre.id}: ${JSON.stringify(all)}`);
  check(listed.nsp === '/' && listed.transport === 'websocket' && listed.clientId.length === 12, `listed ${JSON.stringify(listed)}`);
  check(same([...listed.rooms].sort(), [pre.id, 'pre-room'].sort()), `rooms ${listed.rooms}`);
  check(listed.handshake.query.EIO === '4' && listed.handshake.auth === undefined, `handshake ${JSON.stringify(listed.handshake)}`);
  check(all.some((s) => s.nsp === '/admin' && s.id === a.id), 'all_sockets lacks the admin socket itself');

  // A client that starts on polling and upgrades.
  const c = connect('/', { transports: ['polling', 'websocket'], query: { who: 'c' } });
  await once(c, 'connect');
  const [sc, at] = await a.waitFor('socket_connected', (s) => s.id === c.id);
  check(sc.nsp === '/' && sc.transport === 'polling' && sc.handshake.query.who === 'c' && isDate(at), `socket_connected ${JSON.stringify(sc)} ${at}`);
  check(sc.rooms.includes(c.id), `socket_connected rooms ${sc.rooms}`);
  await a.waitFor('room_joined', (n, r, id, t) => n === '/' && r === c.id && id === c.id && isDate(t), 'room_joined of its own room');
  await a.waitFor('socket_updated', (u) => u.id === c.id && u.transport === 'websocket', 'socket_updated to websocket');

  c.emit('echo', 'hi', 2);
  await a.waitFor('event_received', (n, id, args, t) => n === '/' && id === c.id && same(args, ['echo', 'hi', 2]) && isDate(t), 'event_received echo');
  await a.waitFor('event_sent', (n, id, args) => n === '/' && id === c.id && same(args, ['echo-back', 'hi', 2]), 'event_sent echo-back');
  check(!a.log.some((e) => e.event === 'event_received' && e.args[0] === '/admin'), 'the admin namespace reported its own events');

  // The page's actions.
  a.emit('join', '/', 'room-x', c.id);
  await a.waitFor('room_joined', (n, r, id) => n === '/' && r === 'room-x' && id === c.id, 'room_joined room-x');
  const who = await emitAck(c, "whoami");
  check(who.rooms.includes('room-x'), `after join: ${JSON.stringify(who)}`);
  a.emit('leave', '/', 'room-x', c.id);
  await a.waitFor('room_left', (n, r, id) => n === '/' && r === 'room-x' && id === c.id, 'room_left room-x');
  const hello = once(c, 'hello');
  a.emit('emit', '/', c.id, 'hello', 1, 'two');
  check(same(await hello, [1, 'two']), 'emit action');
  check(!(await Promise.race([once(pre, 'hello').then(() => true), emitAck(pre, 'echo', 0).then(() => false)])), 'emit action reached a socket outside the filter');

  const [stats] = await a.waitFor('server_stats', (s) => s.namespaces.some((n) => n.name === '/' && n.socketsCount === 2), 'server_stats with 2 sockets on /');
  check(typeof stats.serverId === 'string' && stats.pid > 0 && stats.uptime >= 0 && stats.clientsCount >= 3, `stats ${JSON.stringify(stats)}`);
  const agg = a.seen('server_stats').flatMap((e) => e.args[0].aggregatedEvents);
  for (const kind of ['rawConnection', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut']) {
    check(agg.some((e) => e.type === kind && e.count > 0 && e.timestamp % 1000 === 0), `aggregatedEvents lack ${kind}: ${JSON.stringify(agg)}`);
  }

  // socket.io-client forgets its id on disconnect.
  const [cid, preId] = [c.id, pre.id];
  const gone = once(c, 'disconnect');
  a.emit('_disconnect', '/', false, cid);
  const [reason] = await gone;
  check(reason === 'io server disconnect', `client reason ${reason}`);
  const [, , why, t] = await a.waitFor('socket_disconnected', (n, id) => n === '/' && id === cid, 'socket_disconnected');
  check(why === 'server namespace disconnect' && isDate(t), `socket_disconnected reason ${why}`);
  await a.waitFor('room_left', (n, r, id) => r === cid && id === cid, 'room_left of its own room');
  // As in Node, the page hears of the disconnection before the rooms it left.
  const order = a.log.map((e) => e.event === 'socket_disconnected' && e.args[1] === cid ? 'gone' : e.event === 'room_left' && e.args[2] === cid && e.args[1] === cid ? 'left' : null).filter(Boolean);
  check(same(order, ['gone', 'left']), `disconnection and room order ${order}`);

  pre.close();
  await a.waitFor('socket_disconnected', (n, id, why) => id === preId && why === 'client namespace disconnect', 'socket_disconnected of a client that left');
  a.close();
  done({ events: a.log.length });
}

async function readonly() {
  const c = connect('/', { transports: ['websocket'] });
  await once(c, 'connect');
  const a = admin(url, {});
  await once(a, 'connect');
  const [config] = await a.waitFor('config');
  check(same(config.supportedFeatures, ['AGGREGATED_EVENTS', 'ALL_EVENTS']), `features ${config.supportedFeatures}`);
  a.emit('join', '/', 'room-ro', c.id);
  a.emit('_disconnect', '/', true, c.id);
  a.emit('emit', '/', '', 'hello', 1);
  c.on('hello', () => check(false, 'a readonly page emitted'));
  // The actions went out before these two stats were emitted: had the server acted, the
  // socket would be gone or in the room by now.
  const before = a.seen('server_stats').length;
  await a.waitFor('server_stats', () => a.seen('server_stats').length >= before + 2, 'two more server_stats');
  const who = await emitAck(c, "whoami");
  check(c.connected && !who.rooms.includes('room-ro'), `readonly actions took effect: ${JSON.stringify(who)}`);
  c.close();
  a.close();
  done({ rooms: who.rooms.length });
}

async function production() {
  const a = admin(url, {});
  await once(a, 'connect');
  const [config] = await a.waitFor('config');
  check(same(config.supportedFeatures, ALL.filter((f) => f !== 'ALL_EVENTS')), `features ${config.supportedFeatures}`);
  const c = connect('/', { transports: ['websocket'] });
  await once(c, 'connect');
  await emitAck(c, 'echo', 'x');
  await a.waitFor('server_stats', (s) => s.namespaces.some((n) => n.name === '/' && n.socketsCount === 1), 'server_stats with the client');
  c.close();
  await a.waitFor('server_stats', (s) => s.namespaces.some((n) => n.name === '/' && n.socketsCount === 0), 'server_stats without it');
  const agg = () => a.seen('server_stats').flatMap((e) => e.args[0].aggregatedEvents);
  const total = (kind) => agg().filter((e) => e.type === kind).reduce((n, e) => n + e.count, 0);
  // The connection closes just after its socket left: counted in this or a later stats.
  await a.waitFor('server_stats', () => total('rawDisconnection') >= 1, 'a rawDisconnection count');
  const verbose = a.log.filter((e) => !['config', 'server_stats'].includes(e.event)).map((e) => e.event);
  check(verbose.length === 0, `production mode told more than counts: ${verbose}`);
  // The client's connection at least; the admin's own may have been counted in a tick
  // sent before its socket could hear stats.
  check(total('rawConnection') >= 1, `connections ${JSON.stringify(agg())}`);
  check(total('packetsIn') >= 1 && total('bytesIn') >= total('packetsIn'), `traffic in ${JSON.stringify(agg())}`);
  a.close();
  done({ rawConnection: total('rawConnection'), packetsIn: total('packetsIn') });
}

run({ auth, development, readonly, production }[scenario] || (() => Promise.reject(new Error(`unknown scenario ${scenario}`))));
