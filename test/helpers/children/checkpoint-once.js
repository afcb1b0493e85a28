'use strict';
// Opens the persisted store <name> of <dir> (argv 2, 3), runs one store.checkpoint() and prints
// { ok: true, ...its result } or { ok: false, code, message }, then closes the store. Run by
// test/55-persist under a file size limit (bash's ulimit -f): a write that crosses the limit
// takes only the bytes below it, and the next one fails.
const { Store } = require('../../../index');

// A file size limit sends SIGXFSZ, which ends a process by default; with a handler the write
// fails with EFBIG instead.
process.on('SIGXFSZ', () => {});

const store = Store.open({ name: process.argv[2], persist: { dir: process.argv[3] } });
let result;
try {
  result = { ok: true, ...store.checkpoint() };
} catch (err) {
  result = { ok: false, code: err.code, message: err.message };
}
store.close();
process.stdout.write(JSON.stringify(result));
