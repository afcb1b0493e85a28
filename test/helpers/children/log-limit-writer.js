'use strict';
// Another process's handle of a persisted store, run by test/55-persist/log-limit.test.js while
// the test's own handle stays open: it shows whether the store's append lock is free (a lock held
// by a live process fails this handle's writes with ERR_LOCK_TIMEOUT, after ten times its
// lockTimeoutMs). Argument: a JSON task { name, dir, engine, lockTimeoutMs, ops }, each op
// ['set', ns, key, value] or ['checkpoint']. Prints a JSON array of each op's outcome: 'ok' or
// the error's code (its message when it has none), and exits 0.
const { Store } = require('../../../index');

const task = JSON.parse(process.argv[2]);
const outcome = (fn) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err.code || err.message;
  }
};
let store = null;
const results = [outcome(() => (store = Store.open({ name: task.name, engine: task.engine, lockTimeoutMs: task.lockTimeoutMs, persist: { dir: task.dir } })))];
if (store !== null) {
  for (const op of task.ops) {
    results.push(outcome(() => (op[0] === 'checkpoint' ? store.checkpoint() : store.set(op[1], op[2], op[3]))));
  }
  store.close();
}
process.stdout.write(JSON.stringify(results));
