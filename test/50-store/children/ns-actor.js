'use strict';
// A child process of test/50-store/many-namespaces-processes.test.js. argv: a JSON task.
//   { role: 'creator', name, engine, id, names }: sets key `w<id>` in namespaces `ns0` ..
//     `ns<names - 1>` (in an order of its own), prints how many it set.
//   { role: 'churn', name, engine, id }: prints "ready", then creates and drops namespaces
//     `c<id>-<n>` with a few entries each until it is killed.
const { Store } = require('../../../lib/store/store');

const task = JSON.parse(process.argv[2]);
const store = Store.open({ name: task.name, engine: task.engine });
if (task.role === 'creator') {
  let n = 0;
  for (let k = 0; k < task.names; k++) {
    // Each creator walks the names from another start, so that creations of one name collide.
    const i = (k * 7 + task.id * 13) % task.names;
    store.set(`ns${i}`, `w${task.id}`, i);
    n++;
  }
  process.stdout.write(`${n}\n`);
} else {
  process.stdout.write('ready\n');
  for (let n = 0; ; n++) {
    const ns = `c${task.id}-${n % 50}`;
    for (let k = 0; k < 5; k++) store.set(ns, `k${k}`, n);
    if (n % 3 !== 0) store.dropNamespace(ns);
  }
}
store.close();
