'use strict';
// A torn or damaged log tail (docs/format.md §16, "The valid prefix"): the log truncated at every
// offset of its last records, and every byte of them flipped, recovers exactly the records
// before the damage, cuts the rest from the file, never replays a damaged record, and logs new
// writes after the cut.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { Store, layout } = require('../../index');
const { persistTarget, recover, copyDir, logFile, contents } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');

describe('Persistence: a torn or damaged log tail', function () {
  this.timeout(300000);
  let t;
  let log;
  let records;
  const LAST = 3; // the records damaged at every offset
  const FILE_HEADER = layout.C.WAL_FILE_HEADER_SIZE;

  before(() => {
    t = persistTarget('torn');
    const s = Store.create({ name: t.name, size: 1 << 22, persist: { dir: t.dir, sync: 'none' } });
    for (let i = 0; i < 12; i++) s.set('n', `k${i}`, `value ${i} ${'x'.repeat(i * 3)}`);
    s.close();
    const read = readLog(logFile(t.dir));
    records = read.records;
    // The records, without the zeros the file is preallocated with after them.
    log = fs.readFileSync(logFile(t.dir)).subarray(0, layout.C.WAL_FILE_HEADER_SIZE + read.end);
    assert.strictEqual(records.length, 12);
  });
  after(() => t.cleanup());

  // Recovers a copy of the directory whose log is `bytes`; returns the keys recovered.
  function recoverWith(bytes, check) {
    const dir = copyDir(t.dir);
    try {
      fs.writeFileSync(path.join(dir, path.basename(logFile(t.dir))), bytes);
      const r = recover(t.name, dir);
      try {
        const keys = contents(r, 'n').map(([k]) => k);
        check(r, keys, dir);
        return keys;
      } finally {
        r.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  // The file offset where record i starts.
  const startOf = (i) => FILE_HEADER + records[i].lsn;
  const keysBefore = (i) => records.slice(0, i).map((r) => r.key).sort();

  it('truncated at every offset of the last records: exactly the complete records survive', () => {
    let cases = 0;
    for (let cut = startOf(records.length - LAST); cut < log.length; cut++) {
      // The record containing the cut is incomplete: it and everything after are gone.
      const whole = records.filter((r) => FILE_HEADER + r.lsn + r.size <= cut).length;
      recoverWith(log.subarray(0, cut), (r, keys) => {
        assert.deepStrictEqual(keys, keysBefore(whole), `cut at ${cut}`);
        assert.strictEqual(r.persistence.recovery.records, whole);
        assert.strictEqual(r.persistence.recovery.cutBytes, cut - startOf(whole));
      });
      cases += 1;
    }
    assert.ok(cases > 100);
  });

  it('a bit flipped in any byte of the last records cuts the log at that record', () => {
    for (let at = startOf(records.length - LAST); at < log.length; at++) {
      const i = records.findIndex((r, j) => at >= startOf(j) && (j === records.length - 1 || at < startOf(j + 1)));
      const { length } = records[i];
      // A flip in the padding after `length` is not covered by the checksum (docs/format.md §16).
      const inPadding = at >= startOf(i) + length;
      for (const bit of [0, 3, 7]) {
        const bad = Buffer.from(log);
        bad[at] ^= 1 << bit;
        recoverWith(bad, (r, keys, dir) => {
          const want = inPadding ? records.length : i;
          assert.deepStrictEqual(keys, keysBefore(want), `flip of bit ${bit} at ${at} (record ${i})`);
          // The damaged record and what follows are cut from the file.
          assert.strictEqual(fs.statSync(logFile(dir)).size, inPadding ? log.length : startOf(i));
          for (const [k, value] of contents(r, 'n')) assert.strictEqual(value, records.find((x) => x.key === k).value.toString());
        });
      }
    }
  });

  it('garbage tails are cut, zero tails (preallocated space) kept, and new writes go after the valid prefix', () => {
    for (const tail of [Buffer.alloc(100), Buffer.alloc(4096, 0xa5), log.subarray(startOf(2), startOf(5))]) {
      const bytes = Buffer.concat([log, tail]);
      const zero = tail.every((b) => b === 0);
      const dir = copyDir(t.dir);
      try {
        fs.writeFileSync(logFile(dir), bytes);
        const r = recover(t.name, dir);
        assert.strictEqual(r.persistence.recovery.records, records.length);
        assert.strictEqual(r.persistence.recovery.cutBytes, zero ? 0 : tail.length);
        assert.strictEqual(r.persistence.recovery.reason === null, zero);
        assert.strictEqual(fs.statSync(logFile(dir)).size, zero ? bytes.length : log.length);
        r.set('n', 'after', 'the cut');
        r.close();
        const r2 = recover(t.name, dir);
        assert.strictEqual(r2.get('n', 'after'), 'the cut');
        assert.strictEqual(r2.persistence.recovery.records, records.length + 1);
        assert.strictEqual(r2.persistence.recovery.cutBytes, 0);
        r2.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
