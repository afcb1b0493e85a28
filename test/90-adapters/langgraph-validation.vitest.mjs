// The published LangGraph checkpointer conformance suite (@langchain/langgraph-checkpoint-validation)
// against ShmstoreSaver, once per store engine: validate() runs its put, putWrites, getTuple,
// list and deleteThread cases; deltaChannelHistoryTests (exported by the same package, opt-in)
// checks the parent walk that rebuilds delta channels from stored writes. Every case runs: the
// suite skips cases only for checkpointers it names (MemorySaver, MongoDB, SQLite), and none is
// skipped here. Each checkpointer gets a fresh store, as the suite requires.
import { validate, deltaChannelHistoryTests } from '@langchain/langgraph-checkpoint-validation';
import { createRequire } from 'node:module';
import { ShmstoreSaver } from '../../lib/adapters/langgraph/index.mjs';

const require = createRequire(import.meta.url);
const { Store } = require('../../index.js');
const native = require('../../lib/base/native.js');

const engines = native.addon ? ['native', 'js'] : ['js'];
for (const engine of engines) {
  const initializer = {
    checkpointerName: `shmstore (${engine} engine)`,
    createCheckpointer() {
      return new ShmstoreSaver(Store.create({ buffer: new SharedArrayBuffer(8 << 20), engine }));
    },
    destroyCheckpointer(saver) {
      const report = saver.store.verify();
      if (!report.ok) throw new Error(`the store does not verify: ${report.errors.join('; ')}`);
      saver.store.close();
    },
  };
  validate(initializer);
  deltaChannelHistoryTests(initializer);
}
