'use strict';
// A child process of test/50-store/drop-namespace-processes.test.js. argv: a JSON task.
//   { role: 'writer', name, engine, id, ms }: sets keys of namespace 'hot' for `ms` ms (each set
//     goes to the namespace of that name as it is at the time, re-created after a drop); prints
//     the number of sets.
//   { role: 'dropper', name, engine }: prints "dropping", then drops namespace 'big'; prints the
//     number of entries removed (a test kills it at a random moment in between).
const { Store } = require('../../../lib/store/store');

const task = JSON.parse(process.argv[2]);
const store = Store.open({ name: task.name, engine: task.engine });
if (task.role === 'writer') {
  const end = Date.now() + task.ms;
  let n = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 100; i++) store.set('hot', `w${task.id}-${n++ % 500}`, n);
  }
  process.stdout.write(`${n}\n`);
} else {
  process.stdout.write('dropping\n');
  process.stdout.write(`${store.dropNamespace('big')}\n`);
}
store.close();
