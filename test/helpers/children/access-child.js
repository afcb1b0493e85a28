'use strict';
// Tries Segment.open as an unprivileged user and prints the error code (or 'opened').
// Usage: access-child.js name|path <value> [uid]. When uid is given (the tests run as root,
// for whom EACCES never happens) the addon is loaded first and then the process drops to it.
const { Segment } = require('../../../index');

const [kind, value, uid] = process.argv.slice(2);
if (uid !== undefined) {
  process.setgid(Number(uid));
  process.setuid(Number(uid));
}
try {
  Segment.open({ [kind]: value }).close();
  process.stdout.write('opened\n');
} catch (e) {
  process.stdout.write(`${e.code} ${e.errno} ${e.syscall}\n`);
}
