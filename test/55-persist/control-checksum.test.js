'use strict';
// The control header's checksum (docs/format.md §16, "Control segment"): every creator (a restore
// too) seals the header with the CRC32C of its once-written fields, and every open checks it, so a
// flipped bit in the geometry, the sync settings or the store id is refused with
// ERR_PERSIST_CORRUPT before anything is rebuilt (it used to rebuild a store of another size when
// the damaged geometry was one a store can have). A file written before the checksum (seal and
// checksum 0) opens as before; any other seal, or a checksum without its seal, is refused.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Store, Segment, layout } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, reboot, unseal } = require('../helpers/persist');
const { readControl } = require('../helpers/independent-wal-reader');

const { C, S } = layout;
const H = S.PERSIST_HEADER;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const SEAL_AT = C.PERSIST_RECOVERY_OFFSET + S.PERSIST_RECOVERY.HEADER_SEAL;
const BITS = 8;
// The header's fields and their bytes: all but `magic` and `state` are covered (the checksum
// itself included: a flip there is a mismatch too).
const FIELDS = Object.entries(H).filter(([k]) => k !== 'SIZE').map(([name, at], i, all) => ({ name, at, end: i + 1 < all.length ? all[i + 1][1] : H.SIZE }));
const COVERED = FIELDS.filter((f) => f.name !== 'MAGIC' && f.name !== 'STATE');

(native.addon ? describe : describe.skip)('Persistence: the control header checksum', function () {
  this.timeout(120000);
  let t;
  let file;
  let saved;
  beforeEach(() => {
    t = persistTarget('ctlsum');
    file = path.join(t.dir, 'control');
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'interval', intervalMs: 7, checkpointBytes: 1 << 20, checkpointMs: 60000 } });
    s.set('n', 'k', 'v');
    s.close();
    reboot(t.name);
    saved = fs.readFileSync(file);
  });
  afterEach(() => t.cleanup());

  // Writes the saved control file with `edit(bytes)` applied.
  function write(edit) {
    const bytes = Buffer.from(saved);
    edit(bytes);
    fs.writeFileSync(file, bytes);
  }

  function refused(what, pattern) {
    assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }),
      (e) => e.code === 'ERR_PERSIST_CORRUPT' && e.message.includes(file) && pattern.test(e.message), what);
    assert.throws(() => Segment.open({ name: t.name }), { code: 'ERR_SHM_NOT_FOUND' }, `${what}: a segment was made`);
  }

  it('is set by the creator as the document says (an independent reader agrees), and covers the recorded settings', () => {
    const r = readControl(file);
    assert.strictEqual(r.checked, true);
    assert.strictEqual(r.seal, C.PERSIST_HEADER_SEAL);
    assert.strictEqual(Buffer.from(saved.subarray(SEAL_AT, SEAL_AT + WORD)).toString('latin1'), 'SEAL');
    assert.deepStrictEqual([r.version, r.totalSize, r.syncMode, r.intervalMs, r.checkpointBytes, r.checkpointMs, r.maxNamespaces],
      [C.PERSIST_FORMAT_VERSION, 1 << 22, C.PERSIST_SYNC_INTERVAL, 7, 1 << 20, 60000, C.DEFAULT_MAX_NAMESPACES]);
    // The store is rebuilt from it, and `state` (not covered) changes without disturbing it.
    const s = Store.open({ name: t.name, persist: { dir: t.dir } });
    try {
      assert.strictEqual(s.get('n', 'k'), 'v');
      assert.strictEqual(readControl(file).checked, true);
    } finally {
      s.close();
    }
  });

  for (const f of COVERED) {
    it(`a flipped bit anywhere in ${f.name} is refused with ERR_PERSIST_CORRUPT, and nothing is rebuilt`, () => {
      for (let at = f.at; at < f.end; at++) {
        for (let bit = 0; bit < BITS; bit++) {
          write((b) => { b[at] ^= 1 << bit; });
          // A version the package does not know is named as such; everything else is the checksum.
          refused(`${f.name} byte ${at} bit ${bit}`, f.name === 'VERSION' ? /version|checksum/ : /checksum/);
        }
      }
    });
  }

  it('a flipped bit of the seal, a seal without its checksum or a checksum without its seal is refused', () => {
    for (let bit = 0; bit < WORD * BITS; bit++) {
      write((b) => b.writeUInt32LE((C.PERSIST_HEADER_SEAL ^ (1 << bit)) >>> 0, SEAL_AT));
      refused(`seal bit ${bit}`, /seal/);
    }
    write((b) => b.writeUInt32LE(0, SEAL_AT));
    refused('the seal zeroed', /seal/);
    write((b) => b.writeUInt32LE(0, H.HEADER_CHECKSUM));
    refused('the checksum zeroed', /checksum/);
  });

  it('a sealed header made version 1 is damage, not a file to upgrade', () => {
    write((b) => b.writeUInt32LE(C.PERSIST_FORMAT_VERSION_PREVIOUS, H.VERSION));
    refused('version 1 under a seal', /checksum/);
  });

  it('the segment still there: an attach is refused too, and the store opens again once the file is whole', () => {
    const s = Store.open({ name: t.name, persist: { dir: t.dir } });
    s.close();
    const ready = fs.readFileSync(file);
    ready[H.TOTAL_SIZE + WORD] ^= 1;
    fs.writeFileSync(file, ready);
    assert.throws(() => Store.open({ name: t.name, persist: { dir: t.dir } }), { code: 'ERR_PERSIST_CORRUPT' });
    ready[H.TOTAL_SIZE + WORD] ^= 1;
    fs.writeFileSync(file, ready);
    const again = Store.open({ name: t.name, persist: { dir: t.dir } });
    assert.strictEqual(again.get('n', 'k'), 'v');
    again.close();
  });

  it('a file written before the checksum (seal and checksum 0) opens unchecked, and stays so', () => {
    write((b) => {
      const u32 = new Uint32Array(b.buffer, b.byteOffset, b.length / WORD);
      unseal(u32);
    });
    assert.strictEqual(readControl(file).checked, null);
    const s = Store.open({ name: t.name, persist: { dir: t.dir } });
    try {
      assert.strictEqual(s.get('n', 'k'), 'v');
      s.set('n', 'k2', 'w');
    } finally {
      s.close();
    }
    const r = readControl(file);
    assert.deepStrictEqual([r.checked, r.seal, r.checksum], [null, 0, 0]);
    reboot(t.name);
    const again = Store.open({ name: t.name, persist: { dir: t.dir } });
    assert.strictEqual(again.get('n', 'k2'), 'w');
    again.close();
  });

  it('a restore seals the control file it makes, from the backup of an unsealed one too', () => {
    write((b) => unseal(new Uint32Array(b.buffer, b.byteOffset, b.length / WORD)));
    const s = Store.open({ name: t.name, persist: { dir: t.dir } });
    const bdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-ctlsum-backup-'));
    const r = persistTarget('ctlsumr');
    try {
      s.backup(bdir);
      const x = Store.restore(bdir, { name: r.name, dir: r.dir });
      assert.strictEqual(x.get('n', 'k'), 'v');
      x.close();
      const h = readControl(path.join(r.dir, 'control'));
      assert.strictEqual(h.checked, true);
      // A restored store is a history of its own: a new store id (format.md §16, "Backups").
      assert.notStrictEqual(h.storeId, readControl(file).storeId);
      assert.notStrictEqual(h.storeId, '0'.repeat(16));
    } finally {
      s.close();
      r.cleanup();
      fs.rmSync(bdir, { recursive: true, force: true });
    }
  });
});
