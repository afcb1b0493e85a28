'use strict';
// Holds a persisted store open in its own process, for test/55-persist/segment-names.test.js
// (argument: a JSON task { name, dir, go }): opens the store (or creates it, with sync 'always',
// when `dir` holds none), sets key `a` to `A`, prints `ready`, waits until the file `go` exists,
// then sets `a2` to `A2` and prints the namespace's entries as it reads them, as JSON, and exits.
const fs = require('fs');
const path = require('path');
const { Store } = require('../../../index');

const task = JSON.parse(process.argv[2]);
const exists = fs.existsSync(path.join(task.dir, 'control'));
const store = exists
  ? Store.open({ name: task.name, persist: { dir: task.dir } })
  : Store.create({ name: task.name, size: 1 << 22, persist: { dir: task.dir, sync: 'always' } });
store.set('n', 'a', 'A');
process.stdout.write('ready\n');
const timer = setInterval(() => {
  if (!fs.existsSync(task.go)) return;
  clearInterval(timer);
  store.set('n', 'a2', 'A2');
  process.stdout.write(`${JSON.stringify(store.entries('n').sort())}\n`);
  store.close();
}, 5);
