// The stdin/stdout contract of the Node scripts a Rust test drives: JSON lines out
// (`out`), commands `{id, op, ...}` in, each answered `{type:"reply", id, result|error}`.
"use strict";

const readline = require("node:readline");

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// Runs `ops[cmd.op](cmd)` for each command line; `encode` turns a result into JSON-able
// form; `onClose` runs when stdin closes (the test is done with the script).
function serve(ops, onClose, encode = (v) => v) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      return out({ type: "bad-command", line });
    }
    try {
      const result = await ops[cmd.op](cmd);
      out({ type: "reply", id: cmd.id, result: encode(result === undefined ? null : result) });
    } catch (e) {
      out({ type: "reply", id: cmd.id, error: String(e && e.message ? e.message : e) });
    }
  });
  rl.on("close", onClose);
}

// Resolves once a client named `name` of `redis` is blocked in XREAD: the streams adapter
// reads from "$" until its first entry, so what is appended before that read is never seen.
async function xreadWaiting(redis, name) {
  for (;;) {
    const list = await redis.sendCommand(["CLIENT", "LIST"]);
    if (list.split("\n").some((l) => l.includes(`name=${name} `) && l.includes("cmd=xread"))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

module.exports = { out, serve, xreadWaiting };
