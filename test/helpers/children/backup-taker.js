'use strict';
// A backup into a directory, paused where test/55-persist/backup.test.js asks, so that the test
// can interleave several backups taking one marker over. Arguments: role, store name, store
// dir, backup dir, signal dir, dead marker text (JSON). Pauses write `<role>-<point>` into the
// signal dir and wait for `<role>-<point>-go`. Prints one line, JSON: { ok, code, message }.
//   taker:  pauses after its first read of `control` that returns the dead marker ('read'), and
//           at any read of a file a stale marker was moved to ('aside').
//   holder: pauses once its marker is linked to `control` ('holding').
//   plain:  no pause.
const fs = require('fs');
const path = require('path');
const { Store } = require('../../../index');

const [role, name, dir, bdir, sig, deadJson] = process.argv.slice(2);
const dead = JSON.parse(deadJson);
const control = path.join(bdir, 'control');
const nap = new Int32Array(new SharedArrayBuffer(4));

function pause(point) {
  fs.writeFileSync(path.join(sig, `${role}-${point}`), '');
  const go = path.join(sig, `${role}-${point}-go`);
  while (!fs.existsSync(go)) Atomics.wait(nap, 0, 0, 5);
}

const realRead = fs.readFileSync;
const realLink = fs.linkSync;
let readPaused = false;
let holdPaused = false;
fs.readFileSync = function (file, ...rest) {
  const out = realRead.call(fs, file, ...rest);
  if (role === 'taker' && typeof file === 'string') {
    if (!readPaused && file === control && String(out) === dead) {
      readPaused = true;
      pause('read');
    } else if (path.dirname(file) === bdir && path.basename(file).startsWith('control.stale-')) {
      pause('aside');
    }
  }
  return out;
};
fs.linkSync = function (from, to) {
  const out = realLink.call(fs, from, to);
  if (role === 'holder' && !holdPaused && to === control) {
    holdPaused = true;
    pause('holding');
  }
  return out;
};

const s = Store.open({ name, persist: { dir } });
let result;
try {
  s.backup(bdir);
  result = { ok: true };
} catch (err) {
  result = { ok: false, code: err.code, message: err.message };
}
s.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
