'use strict';
// kill -9 (docs/api.md, "Persistence"): writer processes of both engines, with sync 'always',
// record each acknowledged write in an expected-values file after the acknowledgement and are
// killed at random moments; the segment is then removed (a reboot) and the store rebuilt from
// the log. Every acknowledged write must be there with its value (a key's value may be newer:
// the write in flight when the writer died), nothing else, and verify() clean. Several rounds
// on one directory, so later rounds also recover what earlier ones left. Concurrent writers of
// the same keys end, after replay, in exactly the state they left in memory.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { Worker } = require('worker_threads');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { ROOT, runNode } = require('../helpers/process');
const { persistTarget, recover, contents } = require('../helpers/persist');

const CHILD = path.join(ROOT, 'test/helpers/children/persist-writer.js');
const KEYS = 8;

function startWriter(task) {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(task)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited };
}

// The acknowledged seqs recorded by a writer: complete lines only (a kill can tear the last).
function acked(file) {
  if (!fs.existsSync(file)) return -1;
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a torn line
  return lines.length === 0 ? -1 : Number(lines[lines.length - 1]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(native.addon ? describe : describe.skip)('Persistence: kill -9 of writers and recovery', function () {
  this.timeout(300000);
  let t;
  beforeEach(() => { t = persistTarget('crash'); });
  afterEach(() => t.cleanup());

  it("every acknowledged write survives kill -9 of every writer (sync 'always', both engines, 5 rounds, checkpoints in every other round)", async () => {
    Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'always' } }).close();
    const final = new Map(); // key -> value every later recovery must still show
    let checked = 0;
    for (let round = 0; round < 5; round++) {
      const writers = ['native', 'js'].map((engine, c) => {
        const tag = `r${round}c${c}`;
        const expected = path.join(t.dir, `${tag}.expected`);
        // Odd rounds checkpoint as they write, so that kills also land inside checkpoints.
        const checkpointEvery = round % 2 ? 5 + c : 0;
        return { tag, expected, ...startWriter({ name: t.name, dir: t.dir, engine, tag, keys: KEYS, expected, checkpointEvery }) };
      });
      // Let each writer get some acknowledged writes in, then kill them at random moments: at
      // least KEYS, so that every key of every writer has an acknowledged value to check (with
      // fewer, the keys not yet written check nothing, and the count below could fall short).
      const deadline = Date.now() + 60000;
      const want = KEYS + Math.floor(Math.random() * 20);
      while (writers.some((w) => acked(w.expected) < want)) {
        if (Date.now() > deadline) throw new Error('writers made no progress');
        await sleep(5);
      }
      for (const w of writers) {
        await sleep(Math.floor(Math.random() * 60));
        w.child.kill('SIGKILL');
      }
      for (const w of writers) {
        const r = await w.exited;
        assert.strictEqual(r.signal, 'SIGKILL', r.stderr);
      }
      const s = recover(t.name, t.dir, round % 2 ? 'js' : 'native');
      try {
        for (const w of writers) {
          const a = acked(w.expected);
          for (let j = 0; j < KEYS; j++) {
            // The newest acknowledged write of key j, and the writes that may have landed after
            // the last recorded acknowledgement (acknowledged but not yet recorded, in flight).
            const seqs = [];
            for (let q = j; q <= a + 2; q += KEYS) seqs.push(q);
            const lastAcked = seqs.filter((q) => q <= a).pop();
            const allowed = seqs.filter((q) => q > a).map((q) => `${w.tag}:${q}`);
            if (lastAcked !== undefined) allowed.push(`${w.tag}:${lastAcked}`);
            const got = s.get('crash', `${w.tag}-k${j}`);
            if (lastAcked === undefined && got === undefined) continue;
            assert.ok(allowed.includes(got), `${w.tag}-k${j}: ${got}, acknowledged up to ${a}, allowed ${allowed}`);
            final.set(`${w.tag}-k${j}`, got);
            checked += 1;
          }
        }
        for (const [k, value] of final) assert.strictEqual(s.get('crash', k), value, `${k} from an earlier round`);
        assert.strictEqual(s.count('crash'), final.size);
        assert.strictEqual(s.verify().ok, true);
      } finally {
        s.close();
      }
    }
    assert.ok(checked >= 5 * 2 * KEYS);
  });

  it("namespace settings acknowledged as durable survive kill -9 of every writer (sync 'always', both engines, 3 rounds)", async () => {
    Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'always' } }).close();
    const final = new Map(); // namespace -> default TTL every later recovery must still show
    for (let round = 0; round < 3; round++) {
      const writers = ['native', 'js'].map((engine, c) => {
        const tag = `s${round}c${c}`;
        const expected = path.join(t.dir, `${tag}.expected`);
        return { tag, expected, ...startWriter({ name: t.name, dir: t.dir, engine, tag, keys: KEYS, expected, settings: true }) };
      });
      const deadline = Date.now() + 60000;
      const want = 3 + Math.floor(Math.random() * 15);
      while (writers.some((w) => acked(w.expected) < want)) {
        if (Date.now() > deadline) throw new Error('writers made no progress');
        await sleep(5);
      }
      for (const w of writers) {
        await sleep(Math.floor(Math.random() * 40));
        w.child.kill('SIGKILL');
      }
      for (const w of writers) assert.strictEqual((await w.exited).signal, 'SIGKILL');
      const s = recover(t.name, t.dir, round % 2 ? 'js' : 'native');
      try {
        const stats = s.stats().namespaceStats;
        for (const w of writers) {
          const a = acked(w.expected);
          // The last acknowledged setting, or the one in flight when the writer died (its set
          // may have been acknowledged and its settings call not, or both not yet recorded).
          const got = stats[`cfg-${w.tag}`].ttl;
          assert.ok([a + 1, a + 2, a + 3].map((q) => q * 1000).includes(got), `cfg-${w.tag}: ttl ${got}, acknowledged up to seq ${a}`);
          final.set(`cfg-${w.tag}`, got);
        }
        for (const [ns, ttl] of final) assert.strictEqual(stats[ns].ttl, ttl, `${ns} from an earlier round`);
        assert.strictEqual(s.verify().ok, true);
      } finally {
        s.close();
      }
    }
    assert.strictEqual(final.size, 6);
  });

  it('two processes (one per engine) and a worker thread writing the same keys end after replay in their state in memory', async () => {
    Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } }).close();
    const runs = ['native', 'js'].map((engine, c) => runNode(CHILD, [JSON.stringify({
      name: t.name, dir: t.dir, engine, tag: `w${c}`, keys: 4, shared: 3, count: 3000,
    })]));
    const worker = new Worker(CHILD, { workerData: { name: t.name, dir: t.dir, engine: 'js', tag: 'w2', keys: 4, shared: 3, count: 3000 } });
    const threadDone = new Promise((resolve, reject) => {
      worker.on('message', resolve);
      worker.on('error', reject);
    });
    for (const r of await Promise.all(runs)) assert.strictEqual(r.code, 0, r.stderr);
    assert.deepStrictEqual(await threadDone, { acked: 2999 });
    const s = Store.open({ name: t.name, persist: { dir: t.dir } });
    const inMemory = { crash: contents(s, 'crash'), shared: contents(s, 'shared') };
    s.close();
    assert.strictEqual(inMemory.shared.length, 3);
    const r = recover(t.name, t.dir);
    try {
      assert.deepStrictEqual(contents(r, 'shared'), inMemory.shared);
      assert.deepStrictEqual(contents(r, 'crash'), inMemory.crash);
      assert.strictEqual(r.persistence.recovery.records, 3 * 3000 * 2);
    } finally {
      r.close();
    }
  });

  it('a writer thread terminated mid-write leaves no lock held: the others keep writing and recover', async () => {
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } });
    try {
      for (let round = 0; round < 3; round++) {
        const progress = new Int32Array(new SharedArrayBuffer(4));
        const worker = new Worker(CHILD, { workerData: { name: t.name, dir: t.dir, engine: 'js', tag: `t${round}`, keys: 16, shared: 2, progress: progress.buffer } });
        worker.on('error', () => {});
        // Terminated while it writes: once it has written (a loaded machine may take long to
        // start it), at a random moment after.
        for (const until = Date.now() + 60000; Atomics.load(progress, 0) === 0;) {
          if (Date.now() > until) throw new Error('the writer thread did not start writing');
          await sleep(2);
        }
        await sleep(Math.floor(Math.random() * 40));
        await worker.terminate();
        for (let i = 0; i < 100; i++) s.set('shared', `shared-${i % 2}`, `parent:${round}:${i}`);
        s.clear('crash');
      }
      s.set('after', 'k', 1);
      const want = contents(s, 'shared');
      s.close();
      const r = recover(t.name, t.dir);
      try {
        assert.deepStrictEqual(contents(r, 'shared'), want);
        assert.strictEqual(r.count('crash'), 0);
        assert.strictEqual(r.get('after', 'k'), 1);
        assert.strictEqual(r.verify().ok, true);
      } finally {
        r.close();
      }
    } finally {
      if (!s.closed) s.close();
    }
  });

  // Each engine, and each way the log grows: allocated (sync 'none', fallocate) and written
  // (sync 'always', zeros written ahead).
  for (const [engine, sync] of [['native', 'none'], ['js', 'none'], ['native', 'always'], ['js', 'always']]) {
    it(`a full disk (a file size limit) fails the write that does not fit: not in memory, not replayed (${engine} engine, sync '${sync}')`, async () => {
      Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync } }).close();
      // bash's ulimit -f counts 1024-byte blocks: the log may grow to 64 KiB.
      const task = JSON.stringify({ name: t.name, dir: t.dir, engine, tag: 'full', keys: 100000, failAt: true, count: 100000 });
      const child = spawn('bash', ['-c', `ulimit -f 64 && exec "${process.execPath}" "${CHILD}" '${task}'`], { cwd: ROOT });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      const code = await new Promise((resolve) => child.on('exit', resolve));
      assert.strictEqual(code, 0, err);
      const res = JSON.parse(out);
      assert.strictEqual(res.code, 'ERR_PERSIST_IO', res.message);
      assert.strictEqual(res.failed, res.acked + 1);
      assert.ok(res.acked > 100);
      const s = Store.open({ name: t.name, persist: { dir: t.dir } });
      // In memory: exactly the acknowledged writes (the failed one was put back).
      assert.strictEqual(s.count('crash'), res.acked + 1);
      assert.strictEqual(s.get('crash', `full-k${res.failed}`), undefined);
      s.close();
      const r = recover(t.name, t.dir);
      try {
        assert.strictEqual(r.count('crash'), res.acked + 1);
        assert.strictEqual(r.get('crash', `full-k${res.acked}`), `full:${res.acked}`);
        assert.strictEqual(r.get('crash', `full-k${res.failed}`), undefined);
      } finally {
        r.close();
      }
    });
  }
});
