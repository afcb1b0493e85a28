'use strict';
// A process whose main thread waits for a lock that a JS-engine worker of the same process
// holds, while the test pauses the whole process (SIGSTOP) for longer than lockTimeoutMs
// (test/50-store/concurrency.test.js). argv: store name, flag segment name, engine of the
// waiting handle, lockTimeoutMs. Prints `waiting` just before its set, then one JSON line: the
// repair passes the set ran, the value read back and verify().
const { Store } = require('../../../index');
const { inWorker } = require('../actors');

const [name, flagName, engine, timeout] = process.argv.slice(2);
const lockTimeoutMs = Number(timeout);

(async () => {
  const store = Store.open({ name, engine, lockTimeoutMs });
  let holding;
  const held = new Promise((resolve) => { holding = resolve; });
  const { done } = inWorker({ op: 'holdUntil', engine: 'js', name, flagName, key: 'victim', lockTimeoutMs },
    (m) => { if (m.holding) holding(); });
  await held;
  const before = store.stats().repairs;
  process.stdout.write('waiting\n');
  store.set('held', 'victim', 'after the pause');
  await done;
  const out = { repairs: store.stats().repairs - before, value: store.get('held', 'victim'), verify: store.verify().ok };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  store.close();
})();
