'use strict';
// A handle of a persisted store whose log file is mapped (its sets store records through a shared
// mapping of the file, lib/persist/wal.js), run by test/55-persist/truncate-mapped.test.js as a
// child process, so that a store past the end of a file shrunk under it (a SIGBUS) shows as the
// child's signal instead of ending the test process. Argument: a JSON task
// { name, dir, engine, sync, open, from, hold, writes, backupInto, go, race, go2 }:
// - open: 'create' (a store of 4 MiB with persist { dir, sync }), or 'restore' (Store.restore
//   from the backup in `from` into name and dir); a refused restore prints
//   `refused <json { code }>` and exits 0.
// - hold: a file whose appearance the restore's first file copy waits for (printing `copying`
//   before it waits): a restore stopped in the middle of its copies.
// - writes: sets of 1000-byte values `w<i>` to namespace 'n' first, so that the log is mapped and
//   its records pass several pages.
// - backupInto: a directory this handle backs up into then (the error code is reported).
// Then prints `ready <json { tail, fileBytes, backupCode }>`. With `go`, waits for that file,
// then with `race` sets `r<i>` (100 bytes each, a pause of 1 ms after each; `racing` printed after
// the first) until a set fails or `race` of them are done; then, with `go2`, waits for that file. Then sets `a<i>` (1000 bytes)
// 50 times, reads, checkpoints and flushes, each refusal's code recorded, closes, prints
// `done <json { acked, raced, codes }>` and exits 0 (`acked`: the sets acknowledged, by key).
const fs = require('fs');
const { Store } = require('../../../index');

const task = JSON.parse(process.argv[2]);
const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(pause, 0, 0, ms);
const waitFor = (file) => {
  while (!fs.existsSync(file)) sleep(5);
};
const say = (word, value) => process.stdout.write(`${word} ${JSON.stringify(value)}\n`);

if (task.hold) {
  const copy = fs.copyFileSync;
  let first = true;
  fs.copyFileSync = (...args) => {
    if (first) {
      first = false;
      process.stdout.write('copying\n');
      waitFor(task.hold);
    }
    return copy(...args);
  };
}

let store;
if (task.open === 'restore') {
  try {
    store = Store.restore(task.from, { name: task.name, dir: task.dir, engine: task.engine });
  } catch (err) {
    say('refused', { code: err.code, message: err.message });
    process.exit(0);
  }
} else {
  store = Store.create({ name: task.name, size: 1 << 22, engine: task.engine, persist: { dir: task.dir, sync: task.sync } });
}

const acked = [];
const big = 'v'.repeat(1000);
for (let i = 0; i < (task.writes || 0); i++) {
  store.set('n', `w${i}`, big);
  acked.push(`w${i}`);
}
let backupCode = null;
if (task.backupInto) {
  try {
    store.backup(task.backupInto);
  } catch (err) {
    backupCode = err.code;
  }
}
const wal = store._p.wal;
say('ready', { tail: store.persistence.tail, fileBytes: fs.fstatSync(wal.fd).size, backupCode });

const codes = {};
const attempt = (fn) => {
  try {
    fn();
    return true;
  } catch (err) {
    codes[err.code] = (codes[err.code] || 0) + 1;
    return false;
  }
};
let raced = 0;
if (task.go) {
  waitFor(task.go);
  for (; raced < (task.race || 0); raced++) {
    if (!attempt(() => store.set('n', `r${raced}`, 'r'.repeat(100)))) break;
    acked.push(`r${raced}`);
    if (raced === 0) process.stdout.write('racing\n');
    sleep(1);
  }
}
if (task.go2) waitFor(task.go2);
for (let i = 0; i < 50; i++) if (attempt(() => store.set('n', `a${i}`, big))) acked.push(`a${i}`);
attempt(() => store.get('n', 'w0'));
attempt(() => store.checkpoint());
store.flush().catch(() => {}).then(() => {
  store.close();
  say('done', { acked, raced, codes });
});
