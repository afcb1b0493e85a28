'use strict';
// Holds the room lease of store argv[2] (pure-JS engine; docs/format.md §8, "The room lease") as a
// write making room does, until it is killed: a live holder in another process. Prints "held" once
// it holds it.
const { Store } = require('../../../lib/store/store');
const { AT } = require('../../../lib/layout/layout');

const s = Store.open({ name: process.argv[2], engine: 'js' });
s._e.locks.acquire(AT.EVICT_STATE.ROOM_LEASE); // a lock word of §1, taken as any
process.stdout.write('held\n');
setInterval(() => {}, 1000);
