'use strict';
// Holds the allocator lock of store argv[2] (pure-JS engine) until it is killed: a live holder in
// another process, which a waiter cannot take over. Prints "held" once it holds it.
const { Store } = require('../../../lib/store/store');
const { AT } = require('../../../lib/layout/layout');

const s = Store.open({ name: process.argv[2], engine: 'js' });
s._e.locks.acquire(AT.ALLOC_STATE.LOCK);
process.stdout.write('held\n');
setInterval(() => {}, 1000);
