'use strict';
// Child process for the futex tests. Usage:
//   futex-child.js wait <name> sync|async   block on word 0 (expected 0), print the result
//   futex-child.js exit-pending <name>      start 20 waitAsync, then process.exit(0)
const { Segment, futex } = require('../../../index');

async function main() {
  const [mode, name, how] = process.argv.slice(2);
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
