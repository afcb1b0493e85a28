'use strict';
// Creates, writes once to and closes `cycles` persisted stores with sync 'none' (each grows its
// log and starts the prefault of its mapping, then closes at once), letting the event loop run
// between them as an application would, and prints the growth of the resident set in bytes
// from after the first few cycles to the end, as JSON { growth, prefaults }.
const { Store } = require('../../../index');
const { io } = require('../../../lib/persist/io');
const { persistTarget } = require('../persist');

const [engine, cycles] = [process.argv[2], Number(process.argv[3])];
const WARM = 5;

(async () => {
  const real = io.prefault;
  let prefaults = 0;
  io.prefault = (...args) => {
    prefaults += 1;
    return real(...args);
  };
  let base = 0;
  for (let i = 0; i < WARM + cycles; i++) {
    if (i === WARM) base = process.memoryUsage().rss;
    const t = persistTarget('cyc');
    const s = Store.create({ name: t.name, size: 1 << 22, engine, persist: { dir: t.dir, sync: 'none' } });
    s.set('n', 'k', 'v');
    s.close();
    t.cleanup();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  process.stdout.write(JSON.stringify({ growth: process.memoryUsage().rss - base, prefaults }));
})();
