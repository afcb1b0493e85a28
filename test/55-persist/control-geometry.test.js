'use strict';
// The geometry a control file records (docs/format.md §16, "Control segment") is what a rebuild
// creates the store with. A file written before the header's checksum existed has none (the cases
// here unseal the file first; a sealed one refuses all of them by its checksum, see
// control-checksum.test.js), so a damaged geometry that no store can have (a size past the largest
// segment or too small for its buckets, a bucket count that is not a power of two, too many
// namespaces) is refused with ERR_PERSIST_CORRUPT naming the control file, not with the error
// Store.create gives for options the caller never passed, and creates nothing: it is refused
// before the rebuild changes anything, so the control file's words and a segment still there are
// left as the open found them.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store, Segment, layout } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, reboot, unseal, changedControlWords } = require('../helpers/persist');

const { C, S, W } = layout;
const H = S.PERSIST_HEADER;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
// The open takes and releases the recovery lock, whose word counts its releases (lockword.js):
// the one word a refused open may change.
const RECOVERY_LOCK_WORD = C.PERSIST_RECOVERY_OFFSET / WORD + W.PERSIST_RECOVERY.LOCK;
const unchanged = (before, file) => assert.deepStrictEqual(changedControlWords(before, fs.readFileSync(file), [RECOVERY_LOCK_WORD]), [],
  'the offsets of the words the refused open changed');

(native.addon ? describe : describe.skip)('Persistence: a control file whose geometry is damaged', () => {
  let t;
  let file;
  beforeEach(() => {
    t = persistTarget('geo');
    file = path.join(t.dir, 'control');
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } });
    s.set('n', 'k', 'v');
    s.close();
  });
  afterEach(() => t.cleanup());

  // Rewrites the control's header through `edit(DataView)`, as a file without a checksum.
  // Returns the bytes written.
  function damage(edit) {
    const bytes = fs.readFileSync(file);
    unseal(new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / WORD));
    edit(new DataView(bytes.buffer, bytes.byteOffset, H.SIZE));
    fs.writeFileSync(file, bytes);
    return bytes;
  }

  const cases = {
    'a size past the largest segment': (dv) => dv.setBigUint64(H.TOTAL_SIZE, BigInt(C.MAX_SEGMENT_UNITS * C.BLOCK_UNIT) + 1n, true),
    'a size too small for its buckets': (dv) => dv.setBigUint64(H.TOTAL_SIZE, BigInt(C.UNIT), true),
    'a bucket count that is not a power of two': (dv) => dv.setUint32(H.BUCKET_COUNT, dv.getUint32(H.BUCKET_COUNT, true) + 1, true),
    'no buckets': (dv) => dv.setUint32(H.BUCKET_COUNT, 0, true),
    'no entries': (dv) => dv.setUint32(H.MAX_ENTRIES, 0, true),
    'more namespaces than a store holds': (dv) => dv.setUint32(H.MAX_NAMESPACES, C.MAX_NAMESPACES + 1, true),
  };
  const refused = () => assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }),
    (e) => e.code === 'ERR_PERSIST_CORRUPT' && e.message.includes(file));
  for (const [what, edit] of Object.entries(cases)) {
    it(`${what}: ERR_PERSIST_CORRUPT naming the control file, no segment, and not a word of the control file changed`, () => {
      reboot(t.name);
      const before = damage(edit);
      refused();
      assert.throws(() => Segment.open({ name: t.name }), { code: 'ERR_SHM_NOT_FOUND' });
      // Still ready, no recovery counted, no stale handle fenced: the open changed nothing.
      unchanged(before, file);
    });
  }

  it('a damaged geometry in a control file not ready, its segment still there (a rebuild that failed part way): the refused open keeps the segment', () => {
    const before = damage((dv) => {
      cases['no buckets'](dv);
      dv.setUint32(H.STATE, C.PERSIST_STATE_EMPTY, true);
    });
    refused();
    unchanged(before, file);
    const s = Store.open({ name: t.name });
    try {
      assert.strictEqual(s.get('n', 'k'), 'v');
    } finally {
      s.close();
    }
  });

  it('a geometry a store can have is rebuilt as recorded', () => {
    reboot(t.name);
    const s = Store.open({ name: t.name, persist: { dir: t.dir } });
    assert.strictEqual(s.get('n', 'k'), 'v');
    s.close();
  });
});
