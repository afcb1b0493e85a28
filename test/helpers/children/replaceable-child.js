'use strict';
// Child process of test/55-persist/replaceable-noproc.test.js, run under Node's permission model
// without read access to /proc (noProcNodeArgs). Argument: a JSON task { name, storeId, size }.
// Runs the check a rebuild of a persisted store of id `storeId` and `size` bytes makes before it
// removes the segment `name` (lib/persist/tag.js, checkReplaceable), as this process's thread,
// and prints one JSON line: { procDenied, replaceable: true } when the check lets the rebuild go
// on, { procDenied, code, message } when it refuses.
const { procDenied } = require('../process');
const { threadId } = require('worker_threads');
const { checkReplaceable } = require('../../../lib/persist/tag');
const { identityOf } = require('../../../lib/ownership/owners');

const task = JSON.parse(process.argv[2]);
const out = { procDenied: procDenied() };
try {
  checkReplaceable({ name: task.name }, '/a-persist-dir', BigInt(task.storeId), identityOf(process.pid, threadId), task.size);
  out.replaceable = true;
} catch (e) {
  out.code = e.code;
  out.message = e.message;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
