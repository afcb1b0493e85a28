'use strict';
// Agent memory shared by worker threads: every agent writes its notes in its own namespace and
// reads the shared one; the main thread reads everything back. The store lives in one
// SharedArrayBuffer handed to each worker (no copies); half the agents use the native engine,
// half the pure-JS engine, on the same bytes.
//
//   node examples/agent-memory.js [agents]
//
// In your project: require('shmstore') instead of require('..').
const { Worker, isMainThread, workerData, parentPort } = require('worker_threads');
const { Store } = require('..');

if (isMainThread) {
  const agents = Number(process.argv[2] || 4);
  const store = Store.create({ buffer: new SharedArrayBuffer(16 << 20) });
  store.set('shared', 'task', { text: 'summarise the logs', steps: 5 });
  let done = 0;
  for (let id = 0; id < agents; id++) {
    const engine = id % 2 ? 'js' : store.engine;
    const w = new Worker(__filename, { workerData: { buffer: store.buffer, id, engine } });
    w.on('error', (err) => {
      console.error(err);
      process.exitCode = 1;
    });
    w.on('exit', () => {
      if (++done < agents) return;
      const memories = {};
      for (let a = 0; a < agents; a++) memories[`agent:${a}`] = store.count(`agent:${a}`);
      console.log(JSON.stringify({ agents, memories, progress: store.get('shared', 'progress'),
        verify: store.verify().ok }));
      store.close();
    });
  }
} else {
  const { buffer, id, engine } = workerData;
  const store = Store.attach(buffer, { engine });
  const me = store.namespace(`agent:${id}`);
  const task = store.get('shared', 'task');
  for (let step = 0; step < task.steps; step++) {
    me.set(`step:${step}`, { step, note: `agent ${id} did step ${step} of '${task.text}'` });
  }
  // A shared counter of finished agents: read-modify-write is not atomic across agents, so each
  // agent records its own completion and the main thread sums them.
  store.set('shared', `finished:${id}`, true);
  store.set('shared', 'progress', `agent ${id} finished last`);
  store.close();
  parentPort.close();
}
