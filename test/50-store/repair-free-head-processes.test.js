'use strict';
// A set of a large value in another process while a repair pass restores a freeHead damaged
// downwards (format.md §9, step 3) and its large block lies beyond where the pass's walk past the
// kept blocks ends: the pass does not see the block, and the bump pointer hands its units out
// again. The writer, stopped meanwhile, must not link its entry to that block once it goes on:
// the value it acknowledges reads, and the store is sound.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');
const { Store } = require('../../lib/store/store');
const { Segment } = require('../../lib/segment/segment');
const { C, W, AT, SIZE_CLASSES } = require('../../lib/layout/layout');
const { readGeometry } = require('../../lib/store/js/format');
const { forEachEngine, assertSoundForBoth, uniqueName, ENGINES } = require('../helpers/engines');
const { entryWord, blocksOf, bucketWord, ownAs, freeOwner, lockedBy } = require('../helpers/store-bytes');

const ACTOR = path.join(__dirname, '..', 'helpers', 'children', 'large-actor.js');
const FREE_HEAD = AT.HEADER.FREE_HEAD;
const CUTS = AT.REPAIR_STATE.CUTS;
const HOLDER_SLOT = 4000;
const LB = W.LARGE_BLOCK;
const classOf = (u32, u) => (u32[entryWord(u, W.ENTRY.FLAGS)] >>> C.FLAG_CLASS_SHIFT) & C.FLAG_CLASS_MASK;
const keptBlocks = (u32) => blocksOf(u32.buffer).filter((u) => (u32[entryWord(u, W.ENTRY.FLAGS)] & (C.FLAG_FREE | C.FLAG_PARKED)) === 0);
const nap = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The state letter of process `pid` (proc(5): 'T' once a SIGSTOP has stopped it). */
const stateOf = (pid) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];

/**
 * Runs large-actor.js's `task` in a child process: { child, ready (resolves on its first
 * announcement), exited (resolves with its exit code, or its signal) }. The exit code tells
 * whether its set returned (an error thrown ends it with 1), whatever IPC delivers before it.
 */
function runActor(task) {
  const child = fork(ACTOR, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((resolve) => child.once('message', resolve));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, ready, exited };
}

/** Resolves once pred() holds, looking every millisecond for up to 30 s. */
async function until(pred, what) {
  const end = Date.now() + 30000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await nap(1);
  }
}

forEachEngine('a repair pass whose walk past the kept blocks ends before a large block another process is writing', ({ engine, other }) => {
  for (const writerEngine of ENGINES) {
    it(`a ${writerEngine}-engine writer stopped after its copy allocates again once bumps have covered its block: its value reads`, async () => {
      const name = uniqueName('freehead');
      // One bucket: the writer waits for the lock left held below.
      const s = Store.create({ name, size: 1 << 23, engine, buckets: 1 });
      const u32 = new Uint32Array(s.buffer);
      let run = null;
      try {
        for (let i = 0; i < 20; i++) s.set('n', `k${i}`, `v${i}`);
        s.repair(); // this handle's parked blocks freed: the blocks after the last entry are free
        const blocks = keptBlocks(u32);
        const last = blocks[blocks.length - 1];
        const keptEnd = last + SIZE_CLASSES[classOf(u32, last)];
        // A size class that does not tile where the bump pointer stands: the walk of the pass ends
        // there. The writer's block is bumped after it, at unit 18 of one of the blocks of class
        // 15 (20 units) the bump pointer hands out from keptEnd after the pass, past the 17 units
        // of the entry each of them holds: their entries leave its header as it is.
        const top = u32[FREE_HEAD];
        u32[entryWord(top, W.ENTRY.FLAGS)] = (C.FLAG_CLASS_MASK << C.FLAG_CLASS_SHIFT) >>> 0;
        const cover = SIZE_CLASSES[15];
        const lu = keptEnd + Math.ceil((top + 1 - keptEnd - 18) / cover) * cover + 18;
        u32[FREE_HEAD] = lu;
        // The bucket's lock held by a live process other than the writer.
        ownAs(u32, HOLDER_SLOT, process.ppid);
        const lock = bucketWord(0, W.BUCKET.LOCK);
        u32[lock] = lockedBy(u32[lock], HOLDER_SLOT);
        const n = 70000;
        run = runActor({ op: 'setOne', engine: writerEngine, name, key: 'big', n });
        await run.ready;
        // keyHash is the last word the writer stores in its block before it takes the bucket lock.
        await until(() => Atomics.load(u32, entryWord(lu, LB.KEY_HASH)) !== 0, 'the writer\'s copy');
        run.child.kill('SIGSTOP');
        await until(() => stateOf(run.child.pid) === 'T', 'the writer to stop');
        freeOwner(u32, HOLDER_SLOT);
        const cuts0 = u32[CUTS];
        u32[FREE_HEAD] = readGeometry(s.buffer).geometry.firstUnit + 1;
        s.repair();
        assert.strictEqual(u32[FREE_HEAD], keptEnd, 'the walk past the kept blocks ends before the writer\'s block');
        assert.strictEqual(u32[CUTS], cuts0 + 1);
        const units = u32[entryWord(lu, LB.UNITS)];
        const value = (i) => `c${i}`.padEnd(230, 'z'); // 28 + 4 + 230 bytes: 17 units, class 15
        const key = (i) => `c${String(i).padStart(3, '0')}`;
        let count = 0;
        while (u32[FREE_HEAD] < lu + units) s.set('m', key(count), value(count++));
        assert.strictEqual(u32[entryWord(lu, LB.WRITER)] !== 0, true, 'the writer\'s block header is as it was');
        run.child.kill('SIGCONT');
        assert.strictEqual(await run.exited, 0, 'the writer\'s set returned');
        run = null;
        assert.ok(s.get('n', 'big') === 'B'.repeat(n), 'the value the writer acknowledged reads');
        for (let i = 0; i < count; i++) assert.strictEqual(s.get('m', key(i)), value(i));
        for (let i = 0; i < 20; i++) assert.strictEqual(s.get('n', `k${i}`), `v${i}`);
        assertSoundForBoth(s, other);
        for (let i = 0; i < count; i++) s.set('m', key(i), value(i + 1));
        assert.ok(s.get('n', 'big') === 'B'.repeat(n), 'later sets keep the acknowledged value');
        assertSoundForBoth(s, other);
      } finally {
        if (run !== null) {
          run.child.kill('SIGKILL');
          await run.exited;
        }
        s.close();
        Segment.unlink({ name });
      }
    });
  }
});
