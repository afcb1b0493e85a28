'use strict';
// The seeds [from, to) of test/55-persist/damage-fuzz.test.js for one engine, in a child process
// so that a native crash ends this process, not the test run (argument: JSON { engine, from, to }).
// Per seed: a persisted store, a random history of writes with checkpoints and backups among them
// (persist-history.js), one random damage to one file of its directory or of its backup
// (persist-damage.js), the segment removed as a reboot does, then persist.inspect() of the
// directory, a reopen and, when a backup was taken, a restore. Each call either throws an error
// with a stable code or gives a sound store whose state is one the history had:
// - the reopened store shows the state after some prefix of the history (a cut at the last good
//   record), the whole history when the damage touched no byte a reader looks at, and takes a
//   write that a second recovery keeps; it has the size and the sync settings it was created with
//   (the control header's checksum refuses a damaged one instead of rebuilding another shape);
// - a restore gives exactly the state of the last backup, or is refused leaving no segment and no
//   store in its directory;
// - a refused reopen leaves no segment either (never a half-rebuilt store).
// Posts { seed, errors, cut, refused, restoreRefused } after each seed; on a broken promise,
// { seed, failure } and exits 1.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store, Segment, ShmError, persist } = require('../../../index');
const { prng } = require('../prng');
const { countError } = require('../fuzz');
const { persistTarget, reboot } = require('../persist');
const { runHistory, readState, matchPrefix, canonState } = require('../persist-history');
const { describeFiles, damage } = require('../persist-damage');

const { engine, from, to } = JSON.parse(process.argv[2]);
const STORE_BYTES = 1 << 22;

// An error the product may give for damage: one of its own or an argument error, with a code.
function expected(e, errors, what) {
  if (!((e instanceof ShmError || e instanceof TypeError || e instanceof RangeError) && typeof e.code === 'string')) {
    e.message = `${what}: not an error with a stable code: ${e.message}`;
    throw e;
  }
  countError(errors, e);
}

function assertNoSegment(name, what) {
  assert.throws(() => Segment.open({ name }), { code: 'ERR_SHM_NOT_FOUND' }, `${what} left a segment`);
}

function assertSound(store, what) {
  const v = store.verify();
  assert.ok(v.ok, `${what}: verify(): ${v.errors.join('; ')}`);
}

// The reopen of the damaged directory: a refusal, or a prefix of the history in a store of the
// shape `made` ({ size, sync }) it was created with.
function reopen(t, history, made, wantAll, pick, counts) {
  let s;
  try {
    s = Store.open({ name: t.name, engine, persist: { dir: t.dir } });
  } catch (e) {
    expected(e, counts.errors, 'reopen');
    assertNoSegment(t.name, 'a refused reopen');
    counts.refused = 1;
    return;
  }
  let state;
  try {
    assertSound(s, 'reopened');
    const seg = Segment.open({ name: t.name });
    const size = seg.size;
    seg.close();
    const p = s.persistence;
    assert.deepStrictEqual({ size, sync: p.sync, checkpointBytes: p.checkpointBytes, checkpointMs: p.checkpointMs },
      { ...made, checkpointBytes: 0, checkpointMs: 0 }, 'the reopened store has another shape or other settings than its creator gave it');
    state = readState(s);
    const at = matchPrefix(history, state);
    assert.ok(at >= 0, 'the reopened store shows a state the history never had');
    if (wantAll) assert.ok(history.states[at] === history.states.at(-1), `the reopened store shows step ${at} of ${history.states.length - 1}: damage no reader looks at lost records`);
    if (history.states[at] !== history.states.at(-1)) counts.cut = 1;
    if (pick(3) > 0) return;
    // The cut is in the files too: a write after it survives the next recovery, with the rest.
    s.set('after', 'damage', 'kept');
    state.set('after\0damage', { value: 'skept', expires: null });
  } finally {
    s.close();
  }
  reboot(t.name);
  const again = Store.open({ name: t.name, engine, persist: { dir: t.dir } });
  try {
    assertSound(again, 'recovered after the write');
    assert.ok(canonState(readState(again)) === canonState(state), 'a second recovery after a write does not show the state before it and the write');
  } finally {
    again.close();
  }
}

// The restore of the backup: exactly its state, or a refusal that created nothing.
function restore(bdir, history, damaged, counts) {
  const r = persistTarget('fzr');
  try {
    let x;
    try {
      x = Store.restore(bdir, { name: r.name, dir: r.dir, engine });
    } catch (e) {
      if (!damaged) throw e;
      expected(e, counts.errors, 'restore');
      assertNoSegment(r.name, 'a refused restore');
      assert.ok(!fs.existsSync(r.dir) || fs.readdirSync(r.dir).length === 0, 'a refused restore left files');
      counts.restoreRefused = 1;
      return;
    }
    try {
      assertSound(x, 'restored');
      assert.ok(canonState(readState(x)) === history.states[history.backups.at(-1)], 'the restored state is not the backup\'s');
    } finally {
      x.close();
    }
  } finally {
    r.cleanup();
  }
}

function runSeed(seed) {
  const rand = prng(seed);
  const pick = (n) => Math.floor(rand() * n);
  const t = persistTarget('fz');
  const bdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-fuzz-backup-'));
  const counts = { errors: {}, cut: 0, refused: 0, restoreRefused: 0 };
  try {
    const sync = pick(4) === 0 ? 'always' : 'none';
    const made = { size: STORE_BYTES, sync };
    const s = Store.create({ name: t.name, size: STORE_BYTES, engine, persist: { dir: t.dir, sync, checkpointBytes: 0 } });
    let history;
    try {
      history = runHistory(s, pick, 10 + pick(70), { backup: () => s.backup(bdir) });
    } finally {
      s.close();
    }
    const files = describeFiles(t.dir);
    const logs = files.filter((f) => f.kind === 'log');
    const backups = history.backups.length > 0 ? describeFiles(bdir) : [];
    const inBackup = pick(3) === 0 && backups.length > 0;
    const d = damage(inBackup ? backups : files, pick);
    // Damage no reader looks at: past the last log file's records, or to the segment line,
    // which a recovery rewrites.
    const last = logs.at(-1);
    const unseen = !inBackup && d.how !== 'remove' && ((last && d.name === last.name && d.at >= last.live) || d.kind === 'other');
    try {
      reboot(t.name);
      try {
        persist.inspect(t.dir);
      } catch (e) {
        expected(e, counts.errors, 'inspect');
      }
      reopen(t, history, made, unseen || inBackup, pick, counts);
      if (history.backups.length > 0) restore(bdir, history, inBackup, counts);
    } catch (e) {
      e.message = `${e.message} (damage: ${d.how} of ${inBackup ? 'backup ' : ''}${d.kind} ${d.name} at ${d.at}; sync ${sync})`;
      throw e;
    }
    return counts;
  } finally {
    t.cleanup();
    fs.rmSync(bdir, { recursive: true, force: true });
  }
}

(async () => {
  for (let seed = from; seed < to; seed++) {
    let counts;
    try {
      counts = runSeed(seed);
    } catch (e) {
      // The message names the damage (added after the stack was taken), the stack where it failed.
      process.send({ seed, failure: `${engine} seed ${seed}: ${e.message}\n${String(e.stack).split('\n').slice(1).join('\n')}` });
      process.exitCode = 1;
      break;
    }
    process.send({ seed, ...counts });
    // The event loop runs between seeds, as in an application: the log mappings of the closed
    // stores are let go of once their prefaults end (lib/persist/wal.js).
    await new Promise((resolve) => setImmediate(resolve));
  }
  process.disconnect();
})();
