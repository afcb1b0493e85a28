'use strict';
// A writer process of test/55-persist/group-commit.test.js: opens the persisted store and writes
// `batches` batches of 8 setDurable calls to namespace 'w' (keys `<writer>:<n>`), awaiting each
// batch before the next, then reports how many writes were acknowledged as durable.
//   node durable-batches.js <name> <dir> <engine> <writer> <batches>
const { Store } = require('../../../index');

const [name, dir, engine, writer, batches] = process.argv.slice(2);
const PER_BATCH = 8;

(async () => {
  const s = Store.open({ name, engine, persist: { dir } });
  let acknowledged = 0;
  for (let b = 0; b < Number(batches); b++) {
    const pending = [];
    for (let i = 0; i < PER_BATCH; i++) pending.push(s.setDurable('w', `${writer}:${b * PER_BATCH + i}`, { writer, b, i }));
    for (const v of await Promise.all(pending)) if (v === s) acknowledged += 1;
  }
  s.close();
  process.send({ acknowledged }, () => process.exit(0));
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
