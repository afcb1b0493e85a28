'use strict';
// Child process for the futex tests. Usage:
//   futex-child.js wait <name> sync|async   block on word 0 (expected 0), print the result
//   futex-child.js exit-pending <name>      start 20 waitAsync, then process.exit(0)
//   futex-child.js many <count>             start <count> waitAsync on distinct words of a plain
//                                           SharedArrayBuffer, then store + wake each; prints the
//                                           process's thread counts and the results as JSON
const fs = require('fs');
const { Segment, futex } = require('../../../index');

const threads = () => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);

async function many(count) {
  const plain = new Int32Array(new SharedArrayBuffer(4 * count));
  const before = threads();
  const waits = [];
  for (let i = 0; i < count; i++) waits.push(futex.waitAsync(plain, i, 0));
  const during = threads(); // threads start inside waitAsync: no need to wait for them
  for (let i = 0; i < count; i++) {
    Atomics.store(plain, i, 1);
    futex.wake(plain, i);
  }
  const results = {};
  for (const r of await Promise.all(waits)) results[r] = (results[r] || 0) + 1;
  process.stdout.write(`${JSON.stringify({ before, during, after: threads(), results })}\n`);
}

async function main() {
  const [mode, name, how] = process.argv.slice(2);
  if (mode === 'many') return many(Number(name));
  const seg = Segment.open({ name });
  const i32 = new Int32Array(seg.buffer);
  if (mode === 'wait') {
    const result = how === 'async' ? await futex.waitAsync(i32, 0, 0) : futex.wait(i32, 0, 0);
    process.stdout.write(`${result}\n`);
  } else if (mode === 'exit-pending') {
    const plain = new Int32Array(new SharedArrayBuffer(64));
    for (let i = 0; i < 10; i++) futex.waitAsync(i32, 2, 0);
    for (let i = 0; i < 10; i++) futex.waitAsync(plain, i, 0);
    setTimeout(() => process.exit(0), 50);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
