'use strict';
// Stack and PriorityQueue with many parties (docs/api.md "Stack", "PriorityQueue"; format.md §15):
// exactly-once across 2 processes × 2 worker threads, kill -9 of pushers and poppers at random
// moments, and worker.terminate() in the middle of operations. The verdict is the scoreboard
// (helpers/scoreboard.js): how many times each message id was received, and which ids were
// marked produced (after their push returned).
const assert = require('assert');
const path = require('path');
const { Stack, PriorityQueue, Segment } = require('../../index');
const { addon } = require('../../lib/base/native');
const { Scoreboard } = require('../helpers/scoreboard');
const { uniqueName, removeShm, until } = require('../helpers/process');
const { spawnChild, startWorker } = require('../helpers/parties');
const { numbered, producerOf, seqOf } = require('../helpers/messages');

const CHILD = path.join(__dirname, '..', 'helpers', 'children', 'stack-child.js');
const withAddon = addon ? describe : describe.skip;

const child = (args) => spawnChild(CHILD, args);
const worker = (data) => startWorker(CHILD, data);

// The two kinds, as the children name them: how to make one and what it reports as lost.
const KINDS = {
  stack: {
    Class: Stack,
    // Takes back the nodes of parties that died (a push that finds the stack full does it too).
    settle: (s) => s.reclaim(),
    // By its list and by `size`, the depth of its top node (docs/api.md, stack.size).
    empty: (s) => s.peek() === undefined && s.size === 0,
    drain: (s) => s.tryPop(),
    push: (s, m) => s.tryPush(m),
  },
  pq: {
    Class: PriorityQueue,
    // The next holder of the mutex repairs what a dead holder left: nothing to do here.
    settle: () => 0,
    empty: (s) => s.size === 0,
    drain: (s) => s.tryDequeue(),
    push: (s, m, i) => s.tryEnqueue(m, i % 8),
  },
};

for (const [kind, K] of Object.entries(KINDS)) {
  const label = kind === 'stack' ? 'Stack' : 'PriorityQueue';

  describe(`${label}: many parties`, () => {
    withAddon('across processes', () => {
      let names = [];
      afterEach(() => {
        for (const n of names) removeShm(n);
        names = [];
      });

      function setup(total, capacity, messageBytes = 16) {
        const name = uniqueName(kind);
        const bName = uniqueName(`${kind}-board`);
        names.push(name, bName);
        const s = K.Class.create({ name, capacity, messageBytes });
        const seg = Segment.create({ name: bName, size: Scoreboard.bytesFor(total) });
        return { s, name, bName, seg, board: new Scoreboard(seg.buffer) };
      }

      it('2 processes × 2 worker threads (a pusher and a popper each) pass 100000 items exactly once', async function () {
        this.timeout(240000);
        const n = 50000;
        const { s, name, bName, seg, board } = setup(2 * n, 64);
        const procs = [0, 1].map((p) => child([kind, name, bName, 'threads', n, p]));
        await until(() => board.receivedCount() >= 2 * n, 'every item received', 180000);
        board.stop();
        for (const p of procs) {
          const r = await p.exited;
          assert.strictEqual(r.code, 0, r.err);
        }
        assert.deepStrictEqual(board.tally(), { received: 2 * n, duplicated: 0, lost: 0, unmarked: 0 });
        assert.strictEqual(s.size, 0);
        if (kind === 'stack') assert.deepStrictEqual(s.lost, { pushes: 0, pops: 0 });
        else assert.strictEqual(s.rebuilds, 0);
        s.close();
        seg.close();
      });

      it('kill -9 of pushers and poppers at random moments: the others go on; nothing duplicated, losses within the guarantee', async function () {
        this.timeout(240000);
        const n = 30000;
        const P = 3;
        const { s, name, bName, seg, board } = setup(P * n, 32);
        const poppers = [0, 1].map(() => child([kind, name, bName, 'pop', n]));
        const pushers = [0, 1, 2].map((p) => child([kind, name, bName, 'push', p, n]));
        await until(() => board.receivedCount() > 1000 + Math.floor(Math.random() * 8000), 'traffic', 120000);
        pushers[0].c.kill('SIGKILL');
        poppers[0].c.kill('SIGKILL');
        poppers.push(child([kind, name, bName, 'pop', n]));
        await until(() => board.receivedCount() > 12000 + Math.floor(Math.random() * 8000), 'more traffic', 120000);
        pushers[1].c.kill('SIGKILL');
        // A pusher that the traffic polls above did not catch in time finished first (exit 0)
        // and was not killed.
        const ended = [await pushers[0].exited, await pushers[1].exited];
        for (const e of ended) if (e.signal !== 'SIGKILL') assert.strictEqual(e.code, 0, e.err);
        const killed = { pushers: ended.filter((e) => e.signal === 'SIGKILL').length, poppers: 1 };
        assert.strictEqual((await poppers[0].exited).signal, 'SIGKILL');
        const survivor = await pushers[2].exited;
        assert.strictEqual(survivor.code, 0, survivor.err); // the structure did not wedge
        await until(() => K.empty(s), 'drained', 120000);
        board.stop();
        for (const c of poppers.slice(1)) {
          const r = await c.exited;
          assert.strictEqual(r.code, 0, r.err);
        }
        K.settle(s);
        const t = board.tally();
        const counters = kind === 'stack' ? s.lost : { rebuilds: s.rebuilds };
        console.log(`      ${label}: kill -9 of ${killed.pushers} pushers and 1 popper: ${t.received} received, ${t.lost} lost, ` +
          `${t.duplicated} duplicated, ${t.unmarked} received but not marked pushed; ${JSON.stringify(counters)}`);
        assert.strictEqual(t.duplicated, 0);
        assert.ok(t.lost <= killed.poppers, `lost ${t.lost}`);
        assert.ok(t.unmarked <= killed.pushers, `unmarked ${t.unmarked}`);
        if (kind === 'stack') {
          assert.ok(s.lost.pushes <= killed.pushers && s.lost.pops <= killed.poppers, JSON.stringify(s.lost));
          // Every node is back: a full stack's worth fits again.
          let pushed = 0;
          while (s.tryPush('x')) pushed++;
          assert.strictEqual(pushed, s.capacity);
        } else {
          let queued = 0;
          while (s.tryEnqueue('x', 0)) queued++;
          assert.strictEqual(queued, s.capacity);
        }
        let missing = 0;
        for (let i = 0; i < n; i++) missing += board.received[2 * n + i] === 0 ? 1 : 0;
        assert.ok(missing <= t.lost, `pusher 2: ${missing} items missing`);
        s.close();
        seg.close();
      });
      // A party is killed in the middle of an operation only if it is running then, not asleep
      // on a full (empty) structure, so the other side keeps going while the test waits and kills:
      // the test's thread pushes for the poppers, and a worker thread (with the test's thread)
      // pops for the pushers. The messages are large (1 MiB), so that writing one into its node
      // or reading it out, while the party holds the node (the mutex, in a priority queue), is
      // most of what a running party does. A round can still miss (a kill between two
      // operations), so the recovery is asserted over all the rounds, for a stack's poppers.
      it('10 rounds of kill -9 of a busy pusher and of a busy popper: every node comes back, nothing duplicated', async function () {
        this.timeout(240000);
        const rounds = 10;
        const n = 20000; // more than a party passes before it is killed
        const bytes = 1 << 20;
        const { s, name, bName, seg, board } = setup(2 * rounds * n, 8, bytes);
        const delay = () => 10 + Math.floor(Math.random() * 40);
        // Takes what is there (a structure's worth at most: a pusher may keep up).
        const drainHere = () => {
          let m;
          for (let j = 0; j < s.capacity && (m = K.drain(s)) !== undefined; j++) board.markReceived(producerOf(m) * n + seqOf(m));
        };
        // The poppers' messages: numbered(k, i) and zeros, `bytes` in all, in one Buffer the push
        // copies. A pop allocates its Buffer, so the popper is the slower side and the structure
        // stays full: the popper never waits.
        const message = Buffer.alloc(bytes);
        const numberedBytes = (k, i) => {
          numbered(k, i).copy(message);
          return message;
        };
        const lostOf = () => (kind === 'stack' ? s.lost : { rebuilds: s.rebuilds });
        // Poppers killed in the middle of their stream; the test's thread pushes meanwhile.
        for (let k = 0; k < rounds; k++) {
          const before = board.receivedCount();
          const c = child([kind, name, bName, 'pop', n]);
          let i = 0;
          const pushHere = () => {
            for (let j = 0; j < s.capacity && K.push(s, numberedBytes(k, i), i); j++) board.markProduced(k * n + i++);
          };
          await until(() => { pushHere(); return board.receivedCount() > before; }, 'a popper running', 60000);
          const stopAt = Date.now() + delay();
          while (Date.now() < stopAt) pushHere();
          c.c.kill('SIGKILL');
          assert.strictEqual((await c.exited).signal, 'SIGKILL');
        }
        const afterPoppers = lostOf();
        // Pushers killed in the middle of their stream; a worker pops until the board's stop word,
        // and the test's thread too.
        const popper = worker({ kind, name, boardName: bName, mode: 'pop', args: [n] });
        for (let k = rounds; k < 2 * rounds; k++) {
          const p = child([kind, name, bName, 'push', k, n, bytes]);
          await until(() => { drainHere(); return board.produced[k * n] === 1; }, 'a pusher running', 60000);
          const stopAt = Date.now() + delay();
          while (Date.now() < stopAt) drainHere();
          p.c.kill('SIGKILL');
          assert.strictEqual((await p.exited).signal, 'SIGKILL');
        }
        await until(() => { drainHere(); return K.empty(s); }, 'drained', 60000);
        board.stop();
        await popper.result;
        drainHere();
        // Taking the gone parties' nodes back finishes a push one of them announced: its message
        // is then on the stack, to be taken like any other.
        K.settle(s);
        drainHere();
        const t = board.tally();
        const counters = lostOf();
        console.log(`      ${label}: ${rounds} poppers and ${rounds} pushers killed: ${t.received} received, ${t.lost} lost, ` +
          `${t.duplicated} duplicated, ${t.unmarked} received but not marked pushed; ${JSON.stringify(counters)} ` +
          `(${JSON.stringify(afterPoppers)} after the poppers' rounds)`);
        assert.strictEqual(t.duplicated, 0);
        assert.ok(t.lost <= rounds, `lost ${t.lost}`);
        assert.ok(t.unmarked <= rounds, `unmarked ${t.unmarked}`);
        if (kind === 'stack') {
          assert.ok(s.lost.pushes <= rounds && s.lost.pops <= rounds, JSON.stringify(s.lost));
          // The recovery ran: nodes dead poppers held in the middle of a pop were taken back. A
          // popper is killed there nearly always (its pop allocates the 1 MiB Buffer it returns
          // while holding the node); a pusher's write is a copy the kill lands in only now and
          // then, so its count is reported, not required.
          assert.ok(afterPoppers.pops >= 1, JSON.stringify(afterPoppers));
        }
        assert.ok(K.empty(s));
        // Exact once the others are still: the stack's `size` is the depth of its top node, and
        // the priority queue's count is kept under its mutex.
        assert.strictEqual(s.size, 0);
        let filled = 0;
        while (K.push(s, 'x', 0)) filled++;
        assert.strictEqual(filled, s.capacity); // every node came back
        s.close();
        seg.close();
      });
    });

    withAddon('worker threads terminated in the middle of operations', () => {
      it('terminate() of a pusher and a popper at random moments: the others go on, nothing duplicated', async function () {
        this.timeout(120000);
        const n = 30000;
        const buffer = new SharedArrayBuffer(K.Class.bytesFor(16, { messageBytes: 16 }));
        const s = K.Class.create({ buffer, capacity: 16, messageBytes: 16 });
        const boardBuffer = new SharedArrayBuffer(Scoreboard.bytesFor(2 * n));
        const board = new Scoreboard(boardBuffer);
        const start = (mode, args) => worker({ kind, buffer, board: boardBuffer, mode, args });
        const poppers = [start('pop', [n])];
        const pushers = [0, 1].map((p) => start('push', [p, n]));
        await until(() => board.receivedCount() > 500 + Math.floor(Math.random() * 8000), 'traffic', 60000);
        await Promise.all([pushers[0].w.terminate(), poppers[0].w.terminate()]);
        poppers.push(start('pop', [n]));
        assert.strictEqual(await pushers[1].result, 'done'); // it did not wedge
        await until(() => K.empty(s), 'drained', 60000);
        board.stop();
        await poppers[1].result;
        K.settle(s);
        const t = board.tally();
        assert.strictEqual(t.duplicated, 0);
        assert.ok(t.lost <= 1 && t.unmarked <= 1, JSON.stringify(t));
        if (kind === 'stack') assert.ok(s.lost.pushes <= 1 && s.lost.pops <= 1, JSON.stringify(s.lost));
        let missing = 0;
        for (let i = 0; i < n; i++) missing += board.received[n + i] === 0 ? 1 : 0;
        assert.ok(missing <= t.lost, `pusher 1: ${missing} items missing`);
        s.close();
      });

      it('a worker terminated while blocked in a pop leaves the structure usable', async () => {
        const buffer = new SharedArrayBuffer(K.Class.bytesFor(4, { messageBytes: 16 }));
        const s = K.Class.create({ buffer, capacity: 4, messageBytes: 16 });
        const w = worker({ kind, buffer, board: new SharedArrayBuffer(Scoreboard.bytesFor(1)), mode: 'block', args: [] });
        assert.strictEqual(await w.result, 'waiting');
        await new Promise((r) => setTimeout(r, 50));
        await w.w.terminate();
        if (kind === 'stack') s.push('still works');
        else s.enqueue('still works', 1);
        assert.strictEqual(K.drain(s), 'still works');
        s.close();
      });
    });
  });
}
