'use strict';
// Processes that find their shared structures by name: one registry segment holds a mutex and a
// store (in a segment of its own), every process opens both by name (the first one to ask creates
// them), and together they hand out job numbers, each exactly once.
//
//   node examples/job-board.js [processes]
//
// The registry's segment is named EXAMPLE_SHM_PREFIX (default "example-") + "job-board-<pid>"; the
// store's segment is named after it.
//
// In your project: require('shmstore') instead of require('..').
const { fork } = require('child_process');
const { Registry, Segment } = require('..');

const JOBS = 200;

if (process.argv[2] === 'worker') {
  const registry = Registry.open({ name: process.argv[3] });
  const lock = registry.openOrCreate('mutex', 'board.lock');
  const board = registry.openOrCreate('store', 'board', { size: 1 << 20 });
  const mine = [];
  for (;;) {
    // A read and a write of 'next' that only the mutex keeps together. `recovered` would say
    // that a process died holding it: 'next' is written in one set(), so there is nothing to fix.
    const job = lock.withLock(() => {
      const next = board.get('jobs', 'next') || 0;
      if (next >= JOBS) return -1;
      board.set('jobs', 'next', next + 1);
      return next;
    });
    if (job < 0) break;
    board.set('done', String(job), process.pid);
    mine.push(job);
  }
  registry.close(); // closes the mutex and the store handles it returned
  process.send(mine, () => process.exit(0));
} else {
  const processes = Number(process.argv[2] || 3);
  const name = `${process.env.EXAMPLE_SHM_PREFIX || 'example-'}job-board-${process.pid}`;
  const registry = Registry.create({ name, size: 1 << 20, maxEntries: 16 });
  let pending = processes;
  const claimed = [];
  for (let i = 0; i < processes; i++) {
    const child = fork(__filename, ['worker', name]);
    child.on('message', (jobs) => claimed.push(...jobs));
    child.on('exit', () => {
      if (--pending > 0) return;
      const board = registry.open('store', 'board');
      const out = {
        jobs: JOBS,
        claimed: claimed.length,
        distinct: new Set(claimed).size,
        done: board.count('done'),
        structures: registry.list().map((e) => `${e.kind} ${e.name}`),
        segments: [name],
      };
      board.close();
      registry.delete('board'); // unlinks the store's segment
      registry.delete('board.lock');
      registry.close();
      Segment.unlink({ name });
      console.log(JSON.stringify(out));
    });
  }
}
