'use strict';
// Log files are stored into through shared mappings (lib/persist/wal.js): a process whose store
// reaches a page past the end of a file that was shrunk under its mapping gets SIGBUS and dies.
// No call may shrink a log file that a live handle may still store into (docs/format.md §16,
// "Backups" and "Recovery"):
// - a backup into a persistence directory (another store's, or this store's through a symbolic
//   link) is refused: its copies would have replaced the live log files in place;
// - of two restores into one directory at once, the one that loses the control file copies
//   nothing: before, its copies replaced the log files the winner's store already appended to;
// - a recovery that cuts a torn tail from the log does so after the fence, so the handles of the
//   removed segment (appending at that moment, in another process) refuse their writes with
//   ERR_PERSIST_STALE and never store past the new end.
// Each mapped handle runs in a child process: a SIGBUS is its exit signal.
const assert = require('assert');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store, Segment } = require('../../index');
const native = require('../../lib/base/native');
const { ENGINES } = require('../helpers/engines');
const { persistTarget, recover, logFile } = require('../helpers/persist');
const { C } = require('../../lib/layout/layout');

const ROOT = path.join(__dirname, '..', '..');
const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'mapped-log.js');

// A child running mapped-log.js with `task`: line(word) resolves the JSON of its first line that
// starts with `word`, or null once it exited without one; exited resolves { code, signal, out, err }.
function start(task, children) {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(task)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  let ended = false;
  const waiting = [];
  const find = (word) => {
    const line = out.split('\n').find((l) => l === word || l.startsWith(`${word} `));
    if (line === undefined) return undefined;
    return line === word ? {} : JSON.parse(line.slice(word.length + 1));
  };
  const settle = () => {
    for (let i = waiting.length - 1; i >= 0; i--) {
      const found = find(waiting[i].word);
      if (found !== undefined || ended) waiting.splice(i, 1)[0].resolve(found === undefined ? null : found);
    }
  };
  child.stdout.on('data', (d) => { out += d; settle(); });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      ended = true;
      settle();
      resolve({ code, signal, out, err });
    });
  });
  return {
    exited,
    line: (word) => new Promise((resolve) => { waiting.push({ word, resolve }); settle(); }),
  };
}

// The child's end: it exited 0 (not killed by a signal: SIGBUS when it stored past the end of
// its log file) and printed `done`; returns what `done` reported.
async function finished(c, who) {
  const r = await c.exited;
  assert.strictEqual(r.signal, null, `${who} died of ${r.signal} (a store into its mapped log past the file's end)\n${r.err}`);
  assert.strictEqual(r.code, 0, `${who} failed\n${r.err}`);
  const line = r.out.split('\n').find((l) => l.startsWith('done '));
  assert.ok(line, `${who} printed no result\n${r.out}`);
  return JSON.parse(line.slice('done '.length));
}

const keysOf = (store, ns) => store.keys(ns).sort();

(native.addon ? describe : describe.skip)('Persistence: no log file is shrunk under a live mapping', function () {
  this.timeout(120000);
  const children = [];
  const cleanups = [];
  const tmp = (tag) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `shmstore-${tag}-`));
    cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
    return d;
  };
  const target = (tag) => {
    const t = persistTarget(tag);
    cleanups.push(() => t.cleanup());
    return t;
  };
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const f of cleanups.splice(0)) f();
  });

  for (const engine of ENGINES) {
    describe(`[${engine} engine]`, () => {
      it("a backup into another store's persistence directory is refused, and that store's appenders go on", async () => {
        const b = target('victim');
        const go = path.join(tmp('go'), 'go');
        const victim = start({ name: b.name, dir: b.dir, engine, sync: 'always', open: 'create', writes: 40, go }, children);
        const ready = await victim.line('ready');
        assert.ok(ready, 'the victim got ready');
        // A store of a few small records, backed up into the victim's directory: its log copy
        // would end far below the victim's tail.
        const a = target('backer');
        const s = Store.create({ name: a.name, size: 1 << 22, engine, persist: { dir: a.dir, sync: 'always' } });
        s.set('n', 'mine', 'x');
        let refusal = null;
        try {
          s.backup(b.dir);
        } catch (err) {
          refusal = err;
        }
        s.close();
        fs.writeFileSync(go, '');
        const done = await finished(victim, 'the store whose directory was the backup target');
        assert.ok(refusal instanceof TypeError && refusal.code === 'ERR_INVALID_ARG' && /persistence directory/.test(refusal.message),
          `the backup was refused (${refusal && refusal.message})`);
        assert.deepStrictEqual(done.codes, {}, 'every operation of the victim succeeded');
        // Its directory is as it was: every acknowledged write is recovered from it.
        const r = recover(b.name, b.dir, engine);
        try {
          assert.deepStrictEqual(keysOf(r, 'n'), done.acked.slice().sort());
        } finally {
          r.close();
        }
      });

      it("a backup into the store's own directory through a symbolic link is refused, and its writes go on", async () => {
        const b = target('self');
        const link = path.join(tmp('link'), 'persist');
        fs.symlinkSync(b.dir, link);
        const self = start({ name: b.name, dir: b.dir, engine, sync: 'always', open: 'create', writes: 40, backupInto: link }, children);
        const ready = await self.line('ready');
        const done = await finished(self, 'the store backed up into its own directory');
        assert.strictEqual(ready.backupCode, 'ERR_INVALID_ARG');
        assert.deepStrictEqual(done.codes, {});
        assert.strictEqual(fs.readdirSync(b.dir).filter((f) => f === 'manifest.json').length, 0, 'nothing of a backup was written there');
        const r = recover(b.name, b.dir, engine);
        try {
          assert.deepStrictEqual(keysOf(r, 'n'), done.acked.slice().sort());
        } finally {
          r.close();
        }
      });

      it('of two restores into one directory at once, the loser copies nothing: the winner appends on', async () => {
        // A backup to restore.
        const o = target('orig');
        const orig = Store.create({ name: o.name, size: 1 << 22, engine, persist: { dir: o.dir, sync: 'always' } });
        for (let i = 0; i < 5; i++) orig.set('n', `o${i}`, 'x');
        const bdir = tmp('backup');
        orig.backup(bdir);
        orig.close();
        const r = target('restored');
        const gates = tmp('gates');
        const hold = path.join(gates, 'hold');
        const go = path.join(gates, 'go');
        // The first restore stops in its copies; the second runs whole and appends meanwhile.
        const slow = start({ name: r.name, dir: r.dir, engine, open: 'restore', from: bdir, hold, writes: 5 }, children);
        assert.ok(await slow.line('copying'), 'the first restore reached its copies');
        const fast = start({ name: r.name, dir: r.dir, engine, open: 'restore', from: bdir, writes: 40, go }, children);
        const fastReady = await Promise.race([fast.line('ready'), fast.line('refused')]);
        assert.ok(fastReady, 'the second restore ended or got ready');
        fs.writeFileSync(hold, '');
        const slowEnd = await slow.exited;
        fs.writeFileSync(go, '');
        const fastEnd = await fast.exited;
        for (const [who, e] of [['the first restore', slowEnd], ['the second restore', fastEnd]]) {
          assert.strictEqual(e.signal, null, `${who} died of ${e.signal}\n${e.err}`);
          assert.strictEqual(e.code, 0, `${who} failed\n${e.err}`);
        }
        // Exactly one restored; the other was refused with ERR_SHM_EXISTS, changing nothing.
        const result = (e) => {
          const line = e.out.split('\n').find((l) => l.startsWith('done ') || l.startsWith('refused '));
          return { done: line.startsWith('done '), ...JSON.parse(line.slice(line.indexOf(' ') + 1)) };
        };
        const outcomes = [result(slowEnd), result(fastEnd)];
        assert.strictEqual(outcomes.filter((x) => x.done).length, 1, JSON.stringify(outcomes));
        const loser = outcomes.find((x) => !x.done);
        const winner = outcomes.find((x) => x.done);
        assert.strictEqual(loser.code, 'ERR_SHM_EXISTS', loser.message);
        assert.deepStrictEqual(winner.codes, {});
        const s = recover(r.name, r.dir, engine);
        try {
          assert.deepStrictEqual(keysOf(s, 'n'), [...winner.acked, 'o0', 'o1', 'o2', 'o3', 'o4'].sort());
        } finally {
          s.close();
        }
      });

      for (const sync of ['always', 'none']) {
        it(`a recovery that cuts a torn tail from the log, while a handle of the removed segment appends, leaves that handle's process alive (sync '${sync}')`, async () => {
          const t = target('cut');
          const gates = tmp('gates');
          const go = path.join(gates, 'go');
          const go2 = path.join(gates, 'go2');
          const victim = start({ name: t.name, dir: t.dir, engine, sync, open: 'create', writes: 20, go, race: 200, go2 }, children);
          const ready = await victim.line('ready');
          assert.ok(ready, 'the appender got ready');
          // What an appender killed while it copied a record leaves past the records (format.md
          // §16, "What a holder that dies can leave"), 64 KiB past the tail: beyond the at most
          // 200 records of 100 bytes the appender adds meanwhile, which are then followed by zeros
          // and this, a tail recovery cuts.
          const file = logFile(t.dir);
          const fd = fs.openSync(file, 'r+');
          fs.writeSync(fd, Buffer.alloc(C.WAL_RECORD_HEADER_SIZE, 0xab), 0, C.WAL_RECORD_HEADER_SIZE, C.WAL_FILE_HEADER_SIZE + ready.tail + (64 << 10));
          fs.closeSync(fd);
          // The appender races the removal of its segment and the rebuild (the fence, then the cut):
          // it appends once every millisecond from before the removal until a set is refused.
          fs.writeFileSync(go, '');
          assert.ok(await victim.line('racing'), 'the appender appends');
          Segment.unlink({ name: t.name });
          const b = Store.open({ name: t.name, engine, persist: { dir: t.dir } });
          let survivors;
          try {
            const { recovery } = b.persistence;
            assert.ok(recovery && recovery.cutBytes > 0, `the rebuild cut the tail (${JSON.stringify(recovery)})`);
            const size = fs.statSync(file).size;
            assert.ok(size < ready.fileBytes, `the log file (${size} bytes) is shorter than the appender's mapping (${ready.fileBytes})`);
            fs.writeFileSync(go2, '');
            const done = await finished(victim, 'the handle of the removed segment');
            // Every write after the fence refused, none acknowledged.
            assert.deepStrictEqual(Object.keys(done.codes), ['ERR_PERSIST_STALE']);
            assert.ok(done.acked.every((k) => !k.startsWith('a')));
            b.set('n', 'after', 'b');
            survivors = done.acked;
          } finally {
            b.close();
          }
          const r = recover(t.name, t.dir, engine);
          try {
            assert.deepStrictEqual(keysOf(r, 'n'), [...survivors, 'after'].sort());
          } finally {
            r.close();
          }
        });
      }
    });
  }
});
