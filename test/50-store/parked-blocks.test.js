'use strict';
// Parked blocks (docs/format.md §8, "Parked blocks"): a writer that overwrites a value keeps the
// old block for its next write of that size instead of going through the allocator, gives its
// blocks back on close() and when the store is full, and a writer that dies (kill -9,
// worker.terminate()) leaves blocks that the repair pass returns: the free space is exactly what
// it was. Both engines, the same bytes, through the same tests.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Worker } = require('worker_threads');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { C, S, W, AT, SIZE_CLASSES } = require('../../lib/layout/layout');
const { entryWord } = require('../helpers/store-bytes');
const { forEachEngine, uniqueName } = require('../helpers/engines');
const { tempDir, spawnChild, until } = require('../helpers/process');
const { inProcess, announced } = require('../helpers/actors');
const { valueOf } = require('../helpers/children/parked-actor');

const ACTOR = path.join(__dirname, '..', 'helpers', 'children', 'parked-actor.js');
const UNIT = C.BLOCK_UNIT;
// The block of a key of 1 or 2 bytes and a 100-byte value: the smallest class that holds it.
const BLOCK_100 = SIZE_CLASSES.find((u) => u * UNIT >= C.ENTRY_HEADER_SIZE + 2 + 100);
const freedUnits = (s) => new Uint32Array(s.buffer)[AT.ALLOC_STATE.FREED_UNITS];

// Fills namespace 'fill' with 100-byte values (the size of every value the writers write) until
// the store refuses one; returns how many fit, and takes them out again (delete never parks).
function refill(s) {
  let n = 0;
  for (;;) {
    try {
      s.set('fill', `f${n}`, valueOf(`f${n}`, 0));
    } catch (err) {
      assert.strictEqual(err.code, 'ERR_STORE_FULL');
      break;
    }
    n++;
  }
  s.clear('fill');
  return n;
}

// verify() clean, nothing leaked, and the units of the pool all accounted for.
function clean(s, parked = 0) {
  const v = s.verify();
  assert.ok(v.ok, v.errors.join('\n'));
  assert.strictEqual(v.leakedUnits, 0);
  assert.strictEqual(v.parkedUnits, parked);
  return v;
}

forEachEngine('parked blocks', ({ engine, make, other }) => {
  it('overwrites of same-sized values reuse the writer\'s parked block: free lists, tail and freedUnits unchanged', () => {
    const s = make();
    s.set('ns', 'k', 'a'.repeat(100));
    s.set('ns', 'k', 'b'.repeat(100)); // the first block parked
    const before = s.stats();
    assert.strictEqual(before.bytesParked, BLOCK_100 * UNIT);
    const freed = freedUnits(s);
    for (let i = 0; i < 200; i++) s.set('ns', 'k', String(i).padEnd(100, '-'));
    const after = s.stats();
    assert.strictEqual(after.bytesFreeLists, before.bytesFreeLists);
    assert.strictEqual(after.bytesTail, before.bytesTail);
    assert.strictEqual(after.bytesParked, BLOCK_100 * UNIT);
    assert.strictEqual(freedUnits(s), freed, 'parking and taking free nothing');
    assert.strictEqual(s.get('ns', 'k'), '199'.padEnd(100, '-'));
    const v = clean(s, BLOCK_100);
    assert.strictEqual(v.liveUnits, BLOCK_100);
  });

  it('close() returns the parked blocks: verify clean, the space free again', () => {
    const s = make();
    for (let i = 0; i < 4; i++) s.set('ns', 'k', 'x'.repeat(100 + 300 * i));
    assert.ok(s.stats().bytesParked > 0);
    const parked = s.stats().bytesParked;
    const b = Store.attach(s.buffer, { engine });
    const v0 = b.verify();
    assert.strictEqual(v0.parkedUnits * UNIT, parked, 'another handle sees them parked');
    const freeBefore = b.stats().bytesFreeLists;
    s.close();
    const v = clean(b);
    assert.strictEqual(v.entries, 1);
    const st = b.stats();
    assert.strictEqual(st.bytesFreeLists, freeBefore + parked, 'the parked bytes are free again');
    assert.strictEqual((v.liveUnits + v.freeUnits) * UNIT, st.bytesLive + st.bytesFreeLists);
    b.close();
  });

  it('a full store: the writer gives back its parked blocks before it refuses an insert', () => {
    const s = make({ size: 1 << 20 });
    const n = refill(s);
    assert.ok(n > 100);
    for (let i = 0; i < n; i++) s.set('fill', `f${i}`, valueOf(`f${i}`, 0));
    s.delete('fill', 'f0');
    s.set('fill', 'f1', valueOf('f1', 1)); // takes f0's block, parks f1's old one
    assert.strictEqual(s.stats().bytesParked, BLOCK_100 * UNIT);
    s.set('fill', 'new', valueOf('new', 0)); // fits only in the parked block
    assert.strictEqual(s.stats().bytesParked, 0);
    assert.strictEqual(s.get('fill', 'new'), valueOf('new', 0));
    clean(s);
  });

  it(`compaction by a ${other} handle passes over the parked blocks of a live ${engine} writer: neither moved nor merged`, () => {
    const a = make({ size: 1 << 20 });
    const b = Store.attach(a.buffer, { engine: other });
    try {
      for (let i = 0; i < 1500; i++) a.set('x', `k${i}`, `${i}:`.padEnd(40 + (i % 7) * 60, '.'));
      for (let i = 0; i < 1500; i += 2) a.delete('x', `k${i}`); // holes everywhere
      // The writer's overwrites change sizes, so it parks blocks of several classes at the top.
      for (let i = 1; i < 40; i += 2) a.set('x', `k${i}`, `${i}:`.padEnd(50 + (i % 5) * 90, '#'));
      const parked = a.stats().bytesParked;
      assert.ok(parked > 0);
      clean(b, parked / UNIT);
      const r = b.compact();
      assert.ok(r.movedEntries > 0 && r.mergedRuns > 0, JSON.stringify(r));
      clean(b, parked / UNIT);
      assert.strictEqual(a.stats().bytesParked, parked);
      // The writer takes its parked blocks again: had a step merged or moved one, it would now
      // overlap a free run or another entry, which verify() reports.
      for (let i = 1; i < 40; i += 2) a.set('x', `k${i}`, `${i}:`.padEnd(40 + (i % 7) * 60, '*'));
      clean(b, a.stats().bytesParked / UNIT);
      for (let i = 1; i < 1500; i += 2) {
        const want = `${i}:`.padEnd(40 + (i % 7) * 60, i < 40 ? '*' : '.');
        assert.strictEqual(b.get('x', `k${i}`), want);
      }
    } finally {
      b.close();
    }
    a.close();
  });

  for (const forged of [false, true]) {
    const how = forged ? 'a later value carrying a copy of its mark there' : 'its old mark left in the unwritten tail of a later block';
    it(`a ${other} repair that makes a hole of damaged units: the ${engine} writer forgets its parked block in it (${how})`, () => {
      const s = make();
      const u32 = new Uint32Array(s.buffer);
      const head = () => u32[AT.HEADER.FREE_HEAD];
      // A value that makes the entry of `key` exactly `units` units long.
      const fill = (key, units) => 'v'.repeat(units * UNIT - C.ENTRY_HEADER_SIZE - key.length);
      // Two neighbouring classes far enough apart that a block of the larger one, holding an
      // entry one unit longer than the smaller class, leaves two units of its tail unwritten.
      const i = SIZE_CLASSES.findIndex((c, j) => j > 0 && c - SIZE_CLASSES[j - 1] >= 4);
      const small = SIZE_CLASSES[i - 1];
      const tiny = SIZE_CLASSES[0];
      const f = head();
      s.set('ns', 'a0', fill('a0', small)); // [f, f + small)
      s.set('ns', 'a1', fill('a1', tiny)); // then the smallest block, freed below
      s.set('ns', 'k', 'x'); // the block at p = f + small + tiny ...
      s.set('ns', 'k', 'y'); // ... parked by this overwrite, whose entry follows it
      const p = f + small + tiny;
      const live = p + tiny;
      assert.strictEqual(head(), live + tiny);
      s.delete('ns', 'a1');
      const mark = [u32[entryWord(p, W.ENTRY.NEXT)], u32[entryWord(p, W.ENTRY.FLAGS)]];
      assert.strictEqual(mark[1], (C.FLAG_PARKED | (0 << C.FLAG_CLASS_SHIFT)) >>> 0);
      assert.strictEqual(s.stats().bytesParked, tiny * UNIT);
      // Damage: the first block's class is no class. The next block the chains name is k's live
      // entry (a1 was deleted): a repair makes [f, live) one free block, p inside it.
      u32[entryWord(f, W.ENTRY.FLAGS)] = C.FLAG_CLASS_MASK << C.FLAG_CLASS_SHIFT;
      const b = Store.attach(s.buffer, { engine: other });
      try {
        b.repair();
        assert.strictEqual(head(), live + tiny, 'freeHead stays');
        assert.strictEqual(u32[entryWord(f, W.ENTRY.FLAGS)], (C.FLAG_FREE | (SIZE_CLASSES.length << C.FLAG_CLASS_SHIFT)) >>> 0);
        assert.strictEqual(u32[entryWord(f, W.LARGE_BLOCK.UNITS)], live - f, 'the hole ends at the live entry');
        assert.strictEqual(b.get('ns', 'k'), 'y');
        // A block of the next class carved from the hole, covering p.
        let z;
        if (forged) {
          // A binary value whose bytes at p are the writer's mark, word for word.
          z = Buffer.alloc((small + 3) * UNIT - C.ENTRY_HEADER_SIZE - 1, 0x5a);
          const at = (p - f) * UNIT - C.ENTRY_HEADER_SIZE - 1;
          z.writeUInt32LE(mark[0], at + S.ENTRY.NEXT);
          z.writeUInt32LE(mark[1], at + S.ENTRY.FLAGS);
        } else {
          z = fill('z', small + 1); // ends before p: p lies in the block's unwritten tail
        }
        b.set('other', 'z', z);
        assert.deepStrictEqual([u32[entryWord(p, W.ENTRY.NEXT)], u32[entryWord(p, W.ENTRY.FLAGS)]], mark, 'the mark is there again');
        s.set('ns', 'k', 'w'); // needs a block of the parked one's class
        const v = b.verify();
        assert.ok(v.ok, v.errors.join('\n'));
        assert.strictEqual(v.leakedUnits, 0);
        assert.deepStrictEqual(b.get('other', 'z'), z);
        assert.strictEqual(s.get('ns', 'k'), 'w');
        assert.strictEqual(b.get('ns', 'a0'), undefined, 'the damaged entry is gone');
        // Closing returns nothing it forgot and leaves the store whole.
        s.close();
        const after = b.verify();
        assert.ok(after.ok, after.errors.join('\n'));
        assert.deepStrictEqual(b.get('other', 'z'), z);
      } finally {
        b.close();
      }
    });
  }

  it(`a ${engine} handle and a ${other} handle alternating sets on the same keys`, () => {
    const a = make();
    const b = Store.attach(a.buffer, { engine: other });
    try {
      for (let round = 1; round <= 50; round++) {
        for (let k = 0; k < 10; k++) {
          const h = (round + k) % 2 ? a : b;
          h.set('x', `k${k}`, `${round}:${k}`.repeat(1 + (round % 4) * 20));
        }
      }
      for (let k = 0; k < 10; k++) {
        assert.strictEqual(a.get('x', `k${k}`), `50:${k}`.repeat(1 + 2 * 20));
        assert.strictEqual(b.get('x', `k${k}`), `50:${k}`.repeat(1 + 2 * 20));
      }
      const v = clean(a, (a.stats().bytesParked + b.stats().bytesParked) / UNIT);
      assert.ok(v.parkedUnits > 0, 'both handles parked blocks');
      assert.strictEqual(v.entries, 10);
    } finally {
      b.close();
    }
    clean(a, a.stats().bytesParked / UNIT);
  });

  it(`a worker (${engine} engine) terminated while overwriting: its parked blocks come back, a refill fits as many entries as before`, async function () {
    this.timeout(60000);
    const s = make({ size: 1 << 20 });
    for (let k = 0; k < 8; k++) s.set('data', `w${k}`, valueOf(`w${k}`, 0));
    const capacity = refill(s);
    for (let attempt = 0; attempt < 3; attempt++) {
      const w = new Worker(ACTOR, { workerData: { op: 'overwriteUntilKilled', engine, buffer: s.buffer, prefix: 'w', keys: 8 } });
      await new Promise((resolve, reject) => {
        w.on('message', (m) => m.running && resolve());
        w.on('error', reject);
      });
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 40)));
      await w.terminate();
      clean(s);
      assert.strictEqual(s.count('data'), 8);
      for (let k = 0; k < 8; k++) assert.match(s.get('data', `w${k}`), new RegExp(`^w${k}=\\d+;\\.+$`));
      assert.strictEqual(refill(s), capacity);
    }
  });
});

describe('parked blocks across processes', function () {
  this.timeout(120000);

  it('2 processes x 2 threads (native and js) overwriting disjoint keys: every final value exact, verify clean', async () => {
    const name = uniqueName('parked');
    const store = Store.create({ name, size: 8 << 20 });
    try {
      const task = (prefix) => ({ op: 'threads', name, prefix, threads: 2, engines: ['native', 'js'], keys: 50, rounds: 200 });
      const results = await Promise.all([inProcess(task('p0-'), undefined, ACTOR).done, inProcess(task('p1-'), undefined, ACTOR).done]);
      assert.deepStrictEqual(results.map((r) => r.map((t) => t.sets)), [[10000, 10000], [10000, 10000]]);
      for (const p of ['p0-', 'p1-']) {
        for (let t = 0; t < 2; t++) {
          for (let k = 0; k < 50; k++) {
            const key = `${p}${t}:${k}`;
            assert.strictEqual(store.get('data', key), valueOf(key, 200), key);
          }
        }
      }
      const v = clean(store);
      assert.strictEqual(v.entries, 200);
    } finally {
      store.close();
      Segment.unlink({ name });
    }
  });

  for (const engine of ['native', 'js']) {
    it(`a ${engine} handle closed while another process holds the allocator lock: its slot stays claimed (dead) until a repair pass frees the parked blocks, so a new handle cannot inherit them`, async () => {
      const name = uniqueName('parkedclose');
      const a = Store.create({ name, size: 1 << 20, engine, lockTimeoutMs: 200 });
      const holder = spawnChild(path.join(__dirname, '..', 'helpers', 'children', 'alloc-holder.js'), [name]);
      const other = engine === 'js' ? 'native' : 'js';
      const b = Store.open({ name, engine: other, lockTimeoutMs: 200 }); // the one that repairs
      let c = null;
      try {
        a.set('ns', 'k', 'a'.repeat(100));
        a.set('ns', 'k', 'b'.repeat(1000)); // the first block parked
        assert.strictEqual(a.stats().bytesParked, BLOCK_100 * UNIT);
        await until(() => holder.output().includes('held'), 'the holder to take the allocator lock');
        a.close(); // cannot give the block back: the allocator lock's holder is alive
        // A new handle claims the lowest free slot: had a released its slot, this one would now
        // be named by the parked block, which every other handle's repair pass then keeps.
        c = Store.open({ name, engine, lockTimeoutMs: 200 });
        holder.c.kill('SIGKILL');
        await holder.exited;
        const v = clean(b); // a repair pass (the holder is gone) frees the closed handle's block
        assert.strictEqual(v.entries, 1);
        assert.strictEqual(c.get('ns', 'k'), 'b'.repeat(1000));
      } finally {
        holder.c.kill('SIGKILL');
        b.close();
        if (c) c.close();
        Segment.unlink({ name });
      }
    });
  }

  for (const engine of ['native', 'js']) {
    // The other engine recovers: each engine's repair pass frees the other's parked blocks.
    const repairer = engine === 'native' ? 'js' : 'native';
    it(`a ${engine}-engine writer killed with SIGKILL while overwriting: a ${repairer} repair returns its parked blocks, a refill fits as many entries as before, every acknowledged write present`, async () => {
      const { dir, cleanup } = tempDir();
      const name = uniqueName('parkedkill');
      const store = Store.create({ name, size: 1 << 20, lockTimeoutMs: 200, engine: repairer });
      try {
        for (let k = 0; k < 8; k++) store.set('data', `K${k}`, valueOf(`K${k}`, 0));
        const capacity = refill(store);
        for (let round = 0; round < 3; round++) {
          const record = path.join(dir, `acked-${round}`);
          const a = announced();
          const { child, done } = inProcess({ op: 'overwriteUntilKilled', engine, name, prefix: 'K', keys: 8, record },
            a.onMessage, ACTOR);
          await a.promise;
          await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
          child.kill('SIGKILL');
          await assert.rejects(done, /SIGKILL/);
          // verify() meets the dead writer's parked blocks (and any lock it held): it repairs.
          clean(store);
          const last = new Map();
          for (const line of fs.readFileSync(record, 'utf8').split('\n').filter(Boolean)) {
            const [k, seq] = line.split(' ');
            last.set(k, Number(seq));
          }
          for (const [k, seq] of last) {
            const got = Number(/=(\d+);/.exec(store.get('data', k))[1]);
            assert.ok(got >= seq, `${k}: ${got} < ${seq}`);
          }
          assert.strictEqual(refill(store), capacity);
        }
      } finally {
        store.close();
        Segment.unlink({ name });
        cleanup();
      }
    });
  }
});
