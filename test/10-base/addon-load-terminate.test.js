'use strict';
// A worker terminated while it is loading the addon must not take the process down: every
// Node-API call made after the termination began fails, and the addon's initialization stops at
// the first failure instead of using the empty value a failed call left (which node-addon-api
// turns into a fatal error, aborting the whole process). Run in a child process, which the abort
// would kill, with terminations spread over the load.
const assert = require('assert');
const path = require('path');
const native = require('../../lib/base/native');
const { runNode } = require('../helpers/process');

(native.addon ? describe : describe.skip)('addon load in a worker that is terminated', function () {
  it('the process survives 150 terminations at random moments of the load', async function () {
    this.timeout(120000);
    const script = `
      const { Worker } = require('worker_threads');
      (async () => {
        for (let i = 0; i < 150; i++) {
          const w = new Worker('require(' + JSON.stringify(process.argv[1]) + ');', { eval: true });
          w.on('error', () => {});
          await new Promise((r) => setTimeout(r, Math.random() * 40));
          await w.terminate();
        }
        // The addon still loads and works in a worker that is left alone.
        const w = new Worker('const s = require(' + JSON.stringify(process.argv[1]) + ').Store.create({ buffer: new SharedArrayBuffer(1 << 20) }); s.set("a", "k", 1); require("worker_threads").parentPort.postMessage(s.engine + ":" + s.get("a", "k"));', { eval: true });
        w.once('message', (m) => { console.log('survived ' + m); w.terminate(); });
      })();
    `;
    const r = await runNode('-e', [script, path.join(__dirname, '..', '..', 'index.js')], { timeoutMs: 110000 });
    assert.strictEqual(r.signal, null, r.stderr.slice(0, 2000));
    assert.strictEqual(r.code, 0, r.stderr.slice(0, 2000));
    assert.match(r.stdout, /survived native:1/);
  });
});
