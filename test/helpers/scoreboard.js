'use strict';
// The scoreboard of the MPMC queue tests: what producers and consumers in other threads and
// processes did, in shared memory, so that a party killed at any moment leaves its record.
// layout-ok-file: the test's own bytes, not the binary layout.
//   word 0: stop (set by the test when consumers should end), word 1: messages received
//   bytes 64 .. 64+n: how many times message id was received; then n bytes: produced marks
const HEADER = 64;
const STOP = 0;
const RECEIVED = 1;

class Scoreboard {
  static bytesFor(n) {
    return HEADER + 2 * n;
  }

  constructor(buffer) {
    this.n = (buffer.byteLength - HEADER) / 2;
    this.words = new Int32Array(buffer, 0, HEADER / 4);
    this.received = new Uint8Array(buffer, HEADER, this.n);
    this.produced = new Uint8Array(buffer, HEADER + this.n, this.n);
  }

  stop() {
    Atomics.store(this.words, STOP, 1);
  }

  stopped() {
    return Atomics.load(this.words, STOP) !== 0;
  }

  receivedCount() {
    return Atomics.load(this.words, RECEIVED);
  }

  markReceived(id) {
    Atomics.add(this.received, id, 1);
    Atomics.add(this.words, RECEIVED, 1);
  }

  markProduced(id) {
    Atomics.store(this.produced, id, 1);
  }

  // The verdict: ids received twice, ids produced but not received, ids received without a
  // produced mark (their producer died between the enqueue and the mark).
  tally() {
    let duplicated = 0;
    let lost = 0;
    let unmarked = 0;
    let received = 0;
    for (let id = 0; id < this.n; id++) {
      const r = this.received[id];
      received += r;
      if (r > 1) duplicated++;
      if (this.produced[id] && r === 0) lost++;
      if (!this.produced[id] && r > 0) unmarked++;
    }
    return { received, duplicated, lost, unmarked };
  }
}

// An MpmcQueue and a scoreboard for `total` messages, each on a named segment that processes
// open; both names are pushed to `names` (the caller removes them). `prefix` names the test.
function queueWithBoard(prefix, names, total, capacity, messageBytes = 16) {
  const { MpmcQueue, Segment } = require('../../index');
  const { uniqueName } = require('./process');
  const qName = uniqueName(prefix);
  const bName = uniqueName(`${prefix}-board`);
  names.push(qName, bName);
  const q = MpmcQueue.create({ name: qName, capacity, messageBytes });
  const seg = Segment.create({ name: bName, size: Scoreboard.bytesFor(total) });
  return { q, qName, bName, seg, board: new Scoreboard(seg.buffer) };
}

// Checks what consumer processes reported ("count C sum S" lines of their output) and the board
// after P producers passed n numbered messages each: every message received exactly once (the
// count, the sum of the sequence numbers, an arithmetic identity, and the board's tally), and no
// slot of the queue `q` given up.
function assertExactlyOnce(results, P, n, board, q) {
  const assert = require('assert');
  const sums = results.map((r) => /count (\d+) sum (\d+)/.exec(r.out));
  assert.ok(sums.every(Boolean), results.map((r) => r.err).join('\n'));
  assert.strictEqual(sums.reduce((a, m) => a + Number(m[1]), 0), P * n);
  assert.strictEqual(sums.reduce((a, m) => a + Number(m[2]), 0), (P * n * (n - 1)) / 2);
  assert.deepStrictEqual(board.tally(), { received: P * n, duplicated: 0, lost: 0, unmarked: 0 });
  assert.deepStrictEqual(q.skipped, { writes: 0, reads: 0 });
}

module.exports = { Scoreboard, queueWithBoard, assertExactlyOnce };
