'use strict';
// A process using Keyv over a named store. Modes:
//   read-write <name> <keyvMajor>: prints the value the parent set, then sets 'from-child' (ttl 60 s)
//   open <name>: constructs the adapter with create options (racing a sibling) and sets its pid
//   hammer <name>: sets and deletes keys through Keyv until killed
const KeyvShmstore = require('../../../keyv');

const [mode, name, major] = process.argv.slice(2);

async function main() {
  if (mode === 'read-write') {
    const { Keyv } = require(major === '6' ? 'keyv6' : 'keyv');
    const keyv = new Keyv({ store: new KeyvShmstore({ name }), namespace: 'shared' });
    const seen = await keyv.get('from-parent');
    await keyv.set('from-child', { pid: process.pid, major }, 60000);
    await keyv.disconnect();
    process.stdout.write(`${JSON.stringify({ seen })}\n`);
  } else if (mode === 'open') {
    const { Keyv } = require('keyv');
    const keyv = new Keyv({ store: new KeyvShmstore({ name, size: 1 << 20 }), namespace: 'race' });
    await keyv.set(String(process.pid), 'here');
    await keyv.disconnect();
    process.stdout.write(`${JSON.stringify({ pid: process.pid })}\n`);
  } else if (mode === 'hammer') {
    const { Keyv } = require('keyv');
    const keyv = new Keyv({ store: new KeyvShmstore({ name }), namespace: 'hammer' });
    process.stdout.write('ready\n');
    // A working set of KEYS keys with values of varied sizes, some deleted as it goes.
    const KEYS = 50;
    for (let i = 0; ; i += 1) {
      await keyv.set(`k${i % KEYS}`, { i, pad: 'x'.repeat((i * 37) % 701) }, 30000);
      if (i % 5 === 0) await keyv.delete(`k${(i * 7) % KEYS}`);
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
