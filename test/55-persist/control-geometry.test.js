'use strict';
// The geometry a control file records (docs/format.md §16, "Control segment") is what a rebuild
// creates the store with. A file written before the header's checksum existed has none (the cases
// here unseal the file first; a sealed one refuses all of them by its checksum, see
// control-checksum.test.js), so a damaged geometry that no store can have (a size past the largest
// segment or too small for its buckets, a bucket count that is not a power of two, too many
// namespaces) is refused with ERR_PERSIST_CORRUPT naming the control file, not with the error
// Store.create gives for options the caller never passed, and creates nothing.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store, Segment, layout } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, reboot, unseal } = require('../helpers/persist');

const { C, S } = layout;
const H = S.PERSIST_HEADER;

(native.addon ? describe : describe.skip)('Persistence: a control file whose geometry is damaged', () => {
  let t;
  beforeEach(() => {
    t = persistTarget('geo');
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } });
    s.set('n', 'k', 'v');
    s.close();
    reboot(t.name);
  });
  afterEach(() => t.cleanup());

  // Rewrites the control's header through `edit(DataView)`, as a file without a checksum.
  function damage(edit) {
    const file = path.join(t.dir, 'control');
    const bytes = fs.readFileSync(file);
    unseal(new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / Uint32Array.BYTES_PER_ELEMENT));
    edit(new DataView(bytes.buffer, bytes.byteOffset, H.SIZE));
    fs.writeFileSync(file, bytes);
  }

  const cases = {
    'a size past the largest segment': (dv) => dv.setBigUint64(H.TOTAL_SIZE, BigInt(C.MAX_SEGMENT_UNITS * C.BLOCK_UNIT) + 1n, true),
    'a size too small for its buckets': (dv) => dv.setBigUint64(H.TOTAL_SIZE, BigInt(C.UNIT), true),
    'a bucket count that is not a power of two': (dv) => dv.setUint32(H.BUCKET_COUNT, dv.getUint32(H.BUCKET_COUNT, true) + 1, true),
    'no buckets': (dv) => dv.setUint32(H.BUCKET_COUNT, 0, true),
    'no entries': (dv) => dv.setUint32(H.MAX_ENTRIES, 0, true),
    'more namespaces than a store holds': (dv) => dv.setUint32(H.MAX_NAMESPACES, C.MAX_NAMESPACES + 1, true),
  };
  for (const [what, edit] of Object.entries(cases)) {
    it(`${what}: ERR_PERSIST_CORRUPT naming the control file, and no segment`, () => {
      damage(edit);
      assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }),
        (e) => e.code === 'ERR_PERSIST_CORRUPT' && e.message.includes(path.join(t.dir, 'control')));
      assert.throws(() => Segment.open({ name: t.name }), { code: 'ERR_SHM_NOT_FOUND' });
    });
  }

  it('a geometry a store can have is rebuilt as recorded', () => {
    const s = Store.open({ name: t.name, persist: { dir: t.dir } });
    assert.strictEqual(s.get('n', 'k'), 'v');
    s.close();
  });
});
