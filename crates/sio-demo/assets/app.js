// The sio demo page: plain JS over the official socket.io-client bundle (window.io).
// Flow (the seed's client helper): connect with auth.token, emit `authenticate`, then
// `authenticated` or `unauthenticated`; `join`/`leave` with {rooms}; `ping` heartbeats.
'use strict';

const $ = (id) => document.getElementById(id);
let socket = null;
let pings = 0;
let rooms = [];
const DEFAULT_ROOMS = ['io-default', 'io-notification'];

function time() {
  return new Date().toLocaleTimeString();
}

function log(kind, text) {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  const t = document.createElement('time');
  t.textContent = time();
  const k = document.createElement('span');
  k.className = 'kind';
  k.textContent = kind;
  const m = document.createElement('span');
  m.textContent = text;
  li.append(t, k, m);
  $('log').prepend(li);
  while ($('log').children.length > 100) $('log').lastChild.remove();
}

function setState(state, notice) {
  const badge = $('state');
  badge.textContent = state;
  badge.dataset.state = state;
  document.body.dataset.state = state;
  const authed = state === 'authenticated';
  $('join').disabled = !authed;
  $('send').disabled = !authed || rooms.length === 0;
  $('target').disabled = !authed;
  $('logout').disabled = socket === null;
  $('login').disabled = socket !== null;
  const n = $('notice');
  if (notice) {
    n.textContent = notice;
    n.hidden = false;
  } else {
    n.hidden = true;
  }
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  if (rooms.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'not in any room';
    ul.append(li);
  }
  for (const r of rooms) {
    const li = document.createElement('li');
    li.className = 'chip';
    li.dataset.room = r;
    const name = document.createElement('span');
    name.textContent = r;
    li.append(name);
    if (!DEFAULT_ROOMS.includes(r)) {
      const x = document.createElement('button');
      x.type = 'button';
      x.className = 'leave';
      x.title = 'leave ' + r;
      x.setAttribute('aria-label', 'leave ' + r);
      x.textContent = '×';
      x.addEventListener('click', () => leave(r));
      li.append(x);
    }
    ul.append(li);
  }
  const sel = $('target');
  const keep = sel.value;
  sel.replaceChildren();
  for (const r of rooms) {
    const o = document.createElement('option');
    o.value = r;
    o.textContent = r;
    sel.append(o);
  }
  if (rooms.includes(keep)) sel.value = keep;
  else if (rooms.length) sel.value = rooms.find((r) => !DEFAULT_ROOMS.includes(r)) || rooms[0];
  $('send').disabled = !socket || $('state').dataset.state !== 'authenticated' || rooms.length === 0;
}

// The server is the authority on rooms (it may refuse some): ask it after each change.
// Events of one socket are handled in order, so the answer reflects the join/leave.
function refreshRooms(asked) {
  if (!socket) return;
  socket.timeout(5000).emit('rooms', (err, list) => {
    if (err || !Array.isArray(list)) return;
    rooms = list;
    renderRooms();
    if (asked && !list.includes(asked)) log('rooms', 'the server refused ' + asked);
  });
}

function login(token) {
  if (socket) return;
  pings = 0;
  $('pings').textContent = 'no ping yet';
  // socket.io-client's default transports: long-polling first, then the upgrade.
  socket = io({ auth: { token }, reconnection: false });
  setState('connecting');
  socket.on('connect', () => {
    $('socket-id').textContent = socket.id;
    $('transport').textContent = socket.io.engine.transport.name;
    socket.io.engine.on('upgrade', (t) => {
      $('transport').textContent = t.name;
      log('transport', 'upgraded to ' + t.name);
    });
    log('connect', 'connected as ' + socket.id + ', authenticating');
    setState('authenticating');
    socket.emit('authenticate');
  });
  socket.on('authenticated', (data) => {
    setState('authenticated');
    log('auth', 'authenticated at ' + (data && data.time));
    refreshRooms();
  });
  socket.on('unauthenticated', (data) => {
    log('auth', 'refused: ' + ((data && data.message) || 'invalid token'));
    setState('unauthenticated', 'The server refused this token. Check AUTH_TOKENS and log in again.');
  });
  socket.on('ping', (data) => {
    pings += 1;
    $('pings').textContent = pings + (pings === 1 ? ' ping' : ' pings') + ', last at ' + time();
    log('ping', 'heartbeat ' + (data && data.time));
  });
  socket.on('message', (m) => showMessage(m));
  socket.on('connect_error', (err) => {
    log('error', 'connect error: ' + err.message);
    setState('disconnected', 'Cannot connect: ' + err.message);
    cleanup();
  });
  socket.on('disconnect', (reason) => {
    log('disconnect', reason);
    const refused = $('state').dataset.state === 'unauthenticated';
    cleanup();
    if (!refused) setState('disconnected', reason === 'io client disconnect' ? null : 'Disconnected: ' + reason);
    else setState('unauthenticated', 'The server refused this token. Check AUTH_TOKENS and log in again.');
  });
}

function cleanup() {
  if (socket) {
    socket.removeAllListeners();
    socket.disconnect();
  }
  socket = null;
  rooms = [];
  renderRooms();
  $('socket-id').textContent = '–';
  $('transport').textContent = '–';
  $('login').disabled = false;
  $('logout').disabled = true;
}

function join(room) {
  socket.emit('join', { rooms: [room] });
  log('rooms', 'asked to join ' + room);
  refreshRooms(room);
}

function leave(room) {
  socket.emit('leave', { rooms: [room] });
  log('rooms', 'asked to leave ' + room);
  refreshRooms();
}

function showMessage(m) {
  if (!m || typeof m !== 'object') return;
  const li = document.createElement('li');
  const mine = socket && m.from === socket.id;
  li.className = mine ? 'mine' : 'theirs';
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent = (mine ? 'you' : String(m.from).slice(0, 8)) + ' in ' + m.room + ' · ' + time();
  const body = document.createElement('div');
  body.className = 'text';
  body.textContent = String(m.text);
  li.append(meta, body);
  $('messages').prepend(li);
  while ($('messages').children.length > 200) $('messages').lastChild.remove();
}

window.addEventListener('DOMContentLoaded', () => {
  if (typeof io !== 'function') {
    setState('disconnected', 'socket.io-client is not installed: run `cargo xtask demo`.');
    $('login').disabled = true;
    return;
  }
  renderRooms();
  setState('disconnected');
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    login($('token').value);
  });
  $('logout').addEventListener('click', () => {
    cleanup();
    setState('disconnected');
    log('disconnect', 'logged out');
  });
  $('room-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const room = $('room').value.trim();
    if (!room || !socket) return;
    join(room);
    $('room').value = '';
  });
  $('message-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('text').value;
    const room = $('target').value;
    if (!text || !room || !socket) return;
    socket.emit('message', { room, text });
    $('text').value = '';
  });
});
