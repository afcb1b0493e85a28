'use strict';
// A writer process of test/55-persist/group-commit-kill.test.js: opens the persisted store and
// writes batches of 8 setDurable calls to namespace 'w' (keys `<writer>:<n>`, values
// `<writer>:<n>:<engine>`), until it is killed. After each batch is acknowledged as durable it
// appends the batch's last n (a line) to the expected file, so that a line there names writes
// the store acknowledged before the writer died. Prints 'ready' once the store is open.
//   node durable-acks.js <name> <dir> <engine> <writer> <expected file>
const fs = require('fs');
const { Store } = require('../../../index');

const [name, dir, engine, writer, expected] = process.argv.slice(2);
const PER_BATCH = 8;

(async () => {
  const s = Store.open({ name, engine, persist: { dir } });
  const fd = fs.openSync(expected, 'a');
  process.stdout.write('ready\n');
  for (let b = 0; ; b++) {
    const pending = [];
    for (let i = 0; i < PER_BATCH; i++) {
      const n = b * PER_BATCH + i;
      pending.push(s.setDurable('w', `${writer}:${n}`, `${writer}:${n}:${engine}`));
    }
    await Promise.all(pending);
    fs.writeSync(fd, `${b * PER_BATCH + PER_BATCH - 1}\n`);
  }
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
