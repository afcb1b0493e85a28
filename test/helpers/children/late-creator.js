'use strict';
// Worker of test/helpers/late-creation.js: a creator of a message structure, pool, mutex,
// barrier or registry that takes its steps slowly. workerData is { kind, file, target, go,
// firstBytes }: `file` (the target's file, 0 bytes) is sized (to `firstBytes` first, when given,
// and to the full size just before the stamp), then the structure is made on a mapping of it, its
// header's magic stored last; then, once the opener is done with its open (go[1]), a message is
// put (a block held, in a pool; an arrival, in a barrier) and posted (a pool's block handle), and
// the handle stays open until the opener checked it (go[2]) and what the message left pending is
// settled (a barrier's round).
const fs = require('fs');
const { parentPort, workerData } = require('worker_threads');
const { Segment } = require('../../../index');
const { KINDS, end } = require('../late-creation');

const { kind, file, target, go, firstBytes } = workerData;
const k = KINDS[kind];
const WAIT_MS = 30000;

Atomics.store(go, 0, 1);
Atomics.notify(go, 0);
// The opener is on its way meanwhile, and finds the segment with 0 bytes.
Atomics.wait(go, 0, 1, 50);
fs.truncateSync(file, firstBytes === undefined ? k.bytes() : firstBytes);
// The opener finds the segment sized (with firstBytes, in part) but without the magic meanwhile.
Atomics.wait(go, 0, 1, 100);
if (firstBytes !== undefined) fs.truncateSync(file, k.bytes());
const segment = Segment.open(target);
const made = k.create(segment.buffer);
Atomics.wait(go, 1, 0, WAIT_MS);
parentPort.postMessage(k.put(made));
Atomics.wait(go, 2, 0, WAIT_MS);
// A settle that rejects ends the worker with an error, which the opener's side reports.
Promise.resolve(k.settle ? k.settle(made) : undefined).then(() => {
  end(made);
  segment.close();
});
