'use strict';
// node sync-threads.js <rounds>: the waitgroup rounds of test/60-sync/waitgroup.test.js between
// this thread and 2 workers, a mutex and a barrier on the way; prints "rounds <n>" when every
// round balanced. Run without the addon by test/60-sync/lifetime.test.js.
const { WaitGroup } = require('../../../index');
const { actor, allSay } = require('../sync-actors');

async function main() {
  const rounds = Number(process.argv[2]);
  const B = WaitGroup.BYTES;
  const buffer = new SharedArrayBuffer(4 * B);
  const gates = [WaitGroup.open({ buffer }), WaitGroup.open({ buffer, byteOffset: B })];
  const finish = WaitGroup.open({ buffer, byteOffset: 2 * B });
  const work = new Int32Array(buffer, 3 * B, 1);
  gates[0].add(1);
  gates[1].add(1);
  const args = { gates: [0, B], finish: 2 * B, words: 3 * B, wordCount: 1, rounds };
  const actors = [1, 2].map(() => actor('wg-rounds', { buffer }, args));
  for (let r = 0; r < rounds; r++) {
    finish.add(2);
    gates[r % 2].done();
    await finish.waitAsync(30000);
    if (Atomics.load(work, 0) !== 2 * (r + 1)) throw new Error(`round ${r}: ${Atomics.load(work, 0)}`);
    gates[r % 2].add(1);
  }
  await allSay(actors, 'done');
  process.stdout.write(`rounds ${rounds}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
