'use strict';
// persist.inspect(path) (docs/api.md, "Persistence"): reports on a persistence directory, a log
// or a snapshot without opening or changing anything, and names damage.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store, persist, layout } = require('../../index');
const native = require('../../lib/base/native');
const { persistTarget, logFile } = require('../helpers/persist');

(native.addon ? describe : describe.skip)('persist.inspect()', () => {
  let t;
  beforeEach(() => { t = persistTarget('insp'); });
  afterEach(() => t.cleanup());

  it('reports the snapshot and the log of a directory, record counts by type, and a damaged tail', () => {
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none', checkpointBytes: 0 } });
    s.set('a', 'x', 1);
    s.set('a', 'y', 2);
    s.checkpoint();
    s.set('a', 'z', 3);
    s.delete('a', 'x');
    s.clear('a');
    const { tail } = s.persistence;
    s.close();
    const report = persist.inspect(t.dir);
    assert.deepStrictEqual(report.files.map((f) => [f.kind, f.ok]), [['snapshot', true], ['log', true]]);
    assert.strictEqual(report.files[0].records, 2);
    const log = report.files[1];
    assert.deepStrictEqual(log.types, { set: 1, delete: 1, clear: 1, nsCreate: 0, nsDrop: 0, nsSettings: 0 });
    assert.strictEqual(log.end, tail);
    assert.strictEqual(log.cutBytes, 0);
    assert.strictEqual(log.reason, null);
    // Garbage after the records: reported, not changed.
    const file = logFile(t.dir);
    const bytes = fs.readFileSync(file);
    const at = layout.C.WAL_FILE_HEADER_SIZE + (tail - log.startLsn);
    bytes.fill(0xee, at, at + 10);
    fs.writeFileSync(file, bytes);
    const damaged = persist.inspect(file).files[0];
    assert.strictEqual(damaged.records, 3);
    assert.strictEqual(damaged.cutBytes, bytes.length - at);
    assert.match(damaged.reason, /length|checksum/);
    assert.deepStrictEqual(fs.readFileSync(file), bytes);
    // A damaged snapshot is reported as not ok, with the reason.
    const snap = path.join(t.dir, fs.readdirSync(t.dir).find((f) => f.startsWith('snap-')));
    const sb = fs.readFileSync(snap);
    sb[70] ^= 1;
    fs.writeFileSync(snap, sb);
    const bad = persist.inspect(snap).files[0];
    assert.strictEqual(bad.ok, false);
    assert.match(bad.error, /damaged/);
  });

  it('bad arguments', () => {
    assert.throws(() => persist.inspect(5), TypeError);
    assert.throws(() => persist.inspect(path.join(t.dir, 'nothing')), { code: 'ERR_SHM_NOT_FOUND' });
  });
});
