// Browser test of the sio demo, run by `cargo xtask ci`: a real sio-demo process, Debian's
// chromium driven by playwright-core, the page's own socket.io-client bundle.
//
//   node crates/sio-demo/tests/browser.js [--screenshot PATH]
//
// SIO_DEMO_BIN: the sio-demo binary (default: `cargo run -q -p sio-demo --`).
// CHROMIUM: the browser (default /usr/bin/chromium).
// SIO_DEMO_TEST_REDIS: the Redis of the cluster phase (default redis://127.0.0.1:6379).
// The screenshot goes to PATH (default: <target dir>/browser-test/demo.png); pass
// `--screenshot docs/demo.png` (from the repository's root) to refresh the README's. The admin UI
// phase's screenshot goes beside it as admin-ui.png (docs/admin-ui.png is one).
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');
// playwright-core is in the page's npm project (crates/sio-demo/web), beside the bundle.
const WEB = path.resolve(__dirname, '..', 'web');
const { chromium } = require('node:module').createRequire(path.join(WEB, 'package.json'))('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const STEP_TIMEOUT = 15000;

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// Unique per run so parallel runs (and other tests on the machine) never share a room.
const RUN = Math.random().toString(36).slice(2, 8);
const TOKENS = ['alice-' + RUN, 'bob-' + RUN];
const ADMIN = 'admin-' + RUN;

function startServer(extra = {}) {
  const env = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_TOKENS: TOKENS.join(','),
    ADMIN_TOKEN: ADMIN,
    PING_INTERVAL_MS: '1000',
    AUTH_TIMEOUT_MS: '10000',
    SIO_DEMO_WEB_DIR: WEB,
  };
  delete env.REDIS_URL;
  Object.assign(env, extra);
  const [cmd, args] = process.env.SIO_DEMO_BIN
    ? [process.env.SIO_DEMO_BIN, []]
    : ['cargo', ['run', '-q', '-p', 'sio-demo', '--']];
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error('sio-demo exited early with ' + code)));
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, url, exited };
}

async function login(page, url, token) {
  await page.goto(url);
  await page.fill('#token', token);
  await page.click('#login');
}

async function stateIs(page, state) {
  try {
    await page.waitForFunction(
      (s) => document.getElementById('state').dataset.state === s,
      state,
      { timeout: STEP_TIMEOUT },
    );
  } catch (e) {
    // Say what the page shows instead: its state and event log.
    const seen = await page.evaluate(() => ({
      state: document.getElementById('state').dataset.state,
      log: [...document.querySelectorAll('#log li')].map((li) => li.textContent),
    }));
    throw new Error(`page never reached state ${state}: ${JSON.stringify(seen)}`, { cause: e });
  }
}

async function joinRoom(page, room) {
  await page.fill('#room', room);
  await page.click('#join');
}

async function hasRoom(page, room) {
  await page.waitForSelector(`#rooms li[data-room="${room}"]`, { timeout: STEP_TIMEOUT });
}

async function sendText(page, room, text) {
  await page.selectOption('#target', room);
  await page.fill('#text', text);
  await page.click('#send');
}

async function sees(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#messages .text')].some((e) => e.textContent === t),
    text,
    { timeout: STEP_TIMEOUT },
  );
}

// Two processes on one Redis (a key prefix of this run's own): a page on each, one room,
// messages both ways (the helper's send goes through the Redis emitter), and either
// process's API lists both pages.
async function clusterPhase(context) {
  const extra = {
    REDIS_URL: process.env.SIO_DEMO_TEST_REDIS || 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: 'sio-demo-browser-' + RUN,
  };
  const servers = [startServer(extra), startServer(extra)];
  try {
    const urls = await Promise.all(servers.map((s) => s.url));
    const [carol, dave] = [await context.newPage(), await context.newPage()];
    await login(carol, urls[0], TOKENS[0]);
    await login(dave, urls[1], TOKENS[1]);
    await stateIs(carol, 'authenticated');
    await stateIs(dave, 'authenticated');
    const room = 'cluster-' + RUN;
    await joinRoom(carol, room);
    await joinRoom(dave, room);
    await hasRoom(carol, room);
    await hasRoom(dave, room);
    await sendText(carol, room, 'carol on node one');
    await sees(dave, 'carol on node one');
    await sendText(dave, room, 'dave on node two');
    await sees(carol, 'dave on node two');
    const ids = await Promise.all([carol, dave].map((p) => p.textContent('#socket-id')));
    const listed = await (await fetch(new URL('/api/clients', urls[0]), {
      headers: { authorization: 'Bearer ' + ADMIN },
    })).json();
    for (const id of ids) {
      assert.ok(listed.some((c) => c.id === id && c.state === 'authenticated' && c.rooms.includes(room)),
        `node one lists ${id}: ${JSON.stringify(listed)}`);
    }
    await carol.close();
    await dave.close();
    console.log('browser-test: two processes on Redis are one cluster');
  } finally {
    for (const s of servers) {
      if (s.child.exitCode === null) s.child.kill('SIGTERM');
    }
    await Promise.all(servers.map((s) => s.exited));
  }
}

// The official admin page (the @socket.io/admin-ui package's ui/dist, served by the demo
// at /admin-ui/ with ADMIN_UI on), logged in through its own form as an operator does:
// it must list this server and the demo pages' sockets.
async function adminUiPhase(context, url, pages, screenshot) {
  const ids = await Promise.all(pages.map((p) => p.textContent('#socket-id')));
  const admin = await context.newPage();
  // Wide enough for the page's navigation drawer.
  await admin.setViewportSize({ width: 1400, height: 800 });
  admin.on('pageerror', (e) => console.error('admin page error:', e));
  await admin.goto(new URL('/admin-ui/', url).href);
  await admin.getByLabel('Server URL').fill(url);
  await admin.getByLabel('Username').fill('admin');
  await admin.getByLabel('Password').fill(ADMIN);
  const connect = admin.getByRole('button', { name: /connect/i });
  await connect.click();
  await connect.waitFor({ state: 'hidden', timeout: STEP_TIMEOUT });
  // Servers: this one, with its host name and pid from server_stats.
  await admin.goto(new URL('/admin-ui/#/servers/', url).href);
  await admin.waitForFunction(
    (host) => document.body.innerText.includes(host),
    os.hostname(),
    { timeout: STEP_TIMEOUT },
  );
  // Sockets: both demo pages, with their transport and address.
  await admin.goto(new URL('/admin-ui/#/sockets/', url).href);
  await admin.waitForFunction(
    (want) => want.every((id) => document.body.innerText.includes(id)) && document.body.innerText.includes('127.0.0.1'),
    ids,
    { timeout: STEP_TIMEOUT },
  );
  // The login dialog's overlay fades out; the picture is taken once it is gone.
  await admin.waitForSelector('.v-overlay--active', { state: 'detached', timeout: STEP_TIMEOUT });
  await admin.screenshot({ path: screenshot, fullPage: true });
  console.log('browser-test: the admin UI lists the server and ' + ids.length + ' sockets; screenshot ' + screenshot);
  await admin.close();
}

async function main() {
  const screenshot = path.resolve(
    arg('--screenshot') ||
      path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'browser-test', 'demo.png'),
  );
  const server = startServer({ ADMIN_UI: 'true' });
  let context;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-demo-chromium-'));
  try {
    const url = await server.url;
    console.log('browser-test: sio-demo at ' + url);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1100, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-gpu',
        '--disable-component-update',
      ],
    });
    const [alice, bob] = [await context.newPage(), await context.newPage()];
    for (const p of [alice, bob]) p.on('pageerror', (e) => console.error('page error:', e));

    await login(alice, url, TOKENS[0]);
    await login(bob, url, TOKENS[1]);
    await stateIs(alice, 'authenticated');
    await stateIs(bob, 'authenticated');
    console.log('browser-test: two pages authenticated');

    // Default rooms, then a shared room; a private- room is refused by validate_room.
    await hasRoom(alice, 'io-default');
    await hasRoom(alice, 'io-notification');
    const room = 'lobby-' + RUN;
    await joinRoom(alice, room);
    await joinRoom(bob, room);
    await hasRoom(alice, room);
    await hasRoom(bob, room);
    await joinRoom(alice, 'private-' + RUN);
    await joinRoom(alice, 'games-' + RUN);
    await hasRoom(alice, 'games-' + RUN);
    assert.equal(await alice.locator(`#rooms li[data-room="private-${RUN}"]`).count(), 0,
      'a private- room must be refused');
    console.log('browser-test: rooms joined, private- refused');

    // Heartbeat: one ping at authentication, more every PING_INTERVAL_MS.
    await alice.waitForFunction(
      () => /^([2-9]|\d\d+) pings/.test(document.getElementById('pings').textContent),
      null,
      { timeout: STEP_TIMEOUT },
    );

    await sendText(alice, room, 'hello from alice');
    await sees(bob, 'hello from alice');
    await sees(alice, 'hello from alice');
    await sendText(bob, room, 'hi alice, bob here');
    await sees(alice, 'hi alice, bob here');
    console.log('browser-test: messages exchanged');

    // The admin HTTP API reaches the same pages.
    const res = await fetch(new URL('/api/send', url), {
      method: 'POST',
      headers: { authorization: 'Bearer ' + ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ destination: room, topic: 'message', data: { from: 'admin', room, text: 'from the HTTP API' } }),
    });
    assert.equal(res.status, 202, 'POST /api/send');
    await sees(alice, 'from the HTTP API');
    await sees(bob, 'from the HTTP API');
    const clients = await (await fetch(new URL('/api/clients', url), { headers: { authorization: 'Bearer ' + ADMIN } })).json();
    assert.equal(clients.filter((c) => c.state === 'authenticated' && c.rooms.includes(room)).length, 2,
      'GET /api/clients lists both pages in the room: ' + JSON.stringify(clients));

    // Leaving: bob leaves, alice's next message does not reach him.
    await bob.click(`#rooms li[data-room="${room}"] .leave`);
    await bob.waitForSelector(`#rooms li[data-room="${room}"]`, { state: 'detached', timeout: STEP_TIMEOUT });

    // A phone (390 px wide): nothing wider than the screen, the login placeholder whole.
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(url);
    const fit = await phone.evaluate(() => {
      const input = document.getElementById('token');
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = getComputedStyle(input).font;
      return { page: document.documentElement.scrollWidth, input: input.clientWidth, placeholder: ctx.measureText(input.placeholder).width };
    });
    assert.ok(fit.page <= 390, `the page is ${fit.page} px wide on a 390 px screen`);
    assert.ok(fit.placeholder < fit.input, `the login placeholder is cut: ${JSON.stringify(fit)}`);
    await phone.close();
    console.log('browser-test: the page fits a phone');

    const intruder = await context.newPage();
    await login(intruder, url, 'wrong-' + RUN);
    await stateIs(intruder, 'unauthenticated');
    assert.ok(await intruder.isVisible('#notice'), 'the refusal is shown');
    assert.equal(await intruder.isDisabled('#join'), true, 'no rooms without authentication');
    console.log('browser-test: a bad token shows the unauthenticated state');

    await adminUiPhase(context, url, [alice, bob], path.join(path.dirname(screenshot), 'admin-ui.png'));

    await clusterPhase(context);

    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await alice.bringToFront();
    await alice.screenshot({ path: screenshot, fullPage: true });
    console.log('browser-test: screenshot ' + screenshot);

    // Graceful shutdown: SIGTERM disconnects the pages and the process exits 0.
    server.child.kill('SIGTERM');
    await stateIs(alice, 'disconnected');
    const { code } = await server.exited;
    assert.equal(code, 0, 'sio-demo exits 0 after SIGTERM');
    console.log('browser-test: ok');
  } finally {
    if (context) await context.close();
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error('browser-test FAILED:', e);
  process.exit(1);
});
