'use strict';
// The prefault of a 'none' log's mapping (lib/persist/growth.js, io.prefault): each time the log is
// mapped anew, the mapping from the tail to its end is made present on the thread pool, so that
// sets store records into pages that are already there. It must cover exactly the space records
// go to next, change no byte of the log, stop after a refusal (a kernel without
// MADV_POPULATE_WRITE) and never run in a mode that syncs (it dirties pages ahead of the records).
const assert = require('assert');
const path = require('path');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { io } = require('../../lib/persist/io');
const { C } = require('../../lib/layout/layout');
const { persistTarget, recover, contents } = require('../helpers/persist');
const { readLog } = require('../helpers/independent-wal-reader');
const { walFileName } = require('../../lib/persist/files');
const { runNode } = require('../helpers/process');

const VALUE = 'v'.repeat(100);

describe('Persistence: the prefault of the log mapping', function () {
  if (!native.addon) return;
  const targets = [];
  const open = [];
  const real = io.prefault;
  let calls = [];
  let answer = null; // what the recorded prefault resolves to instead of the real one's result
  beforeEach(() => {
    calls = [];
    answer = null;
    io.prefault = (view, at, length) => {
      const call = { view, at, length, result: null, done: null };
      calls.push(call);
      call.done = real(view, at, length).then((err) => {
        call.result = err;
        return answer === null ? err : answer;
      });
      return call.done;
    };
  });
  afterEach(() => {
    io.prefault = real;
    for (const s of open.splice(0)) s.close();
    for (const t of targets.splice(0)) t.cleanup();
  });
  const create = (engine, sync) => {
    const t = persistTarget('pf');
    targets.push(t);
    const s = Store.create({ name: t.name, size: 1 << 25, engine, persist: { dir: t.dir, sync, checkpointBytes: 0 } });
    open.push(s);
    return { t, s };
  };
  // Sets until the log holds `upTo` bytes of records; returns how many.
  const fill = (s, upTo) => {
    let i = 0;
    while (s.persistence.tail - s.persistence.logStart < upTo) s.set('n', `key:${i++ % 5000}`, `${VALUE}${i}`);
    return i;
  };

  for (const engine of ['native', 'js']) {
    it(`${engine}: prefaults from the tail to the end of each new mapping, changing no byte`, async () => {
      const { t, s } = create(engine, 'none');
      const n = fill(s, C.WAL_PREALLOC_NONE_BYTES + (1 << 20));
      await Promise.all(calls.map((c) => c.done));
      // The first mapping (the file's first growth) and the one after it grew again.
      assert.strictEqual(calls.length, 2, `${calls.length} prefaults`);
      for (const c of calls) {
        assert.strictEqual(c.result, 0, 'the kernel made the pages present');
        assert.strictEqual(c.at + c.length, c.view.length, 'up to the end of the mapping');
      }
      assert.strictEqual(calls[0].at, C.WAL_FILE_HEADER_SIZE, 'the first from the first record');
      assert.strictEqual(calls[1].view.length, 2 * C.WAL_PREALLOC_NONE_BYTES);
      // The second from the record that did not fit the first mapping: at or before its end.
      assert.ok(calls[1].at <= C.WAL_PREALLOC_NONE_BYTES && calls[1].at > C.WAL_PREALLOC_NONE_BYTES - 4096, `${calls[1].at}`);
      const want = contents(s, 'n');
      const tail = s.persistence.tail;
      s.close();
      const log = readLog(path.join(t.dir, walFileName(0)));
      assert.strictEqual(log.end, tail, 'every record reads back, up to the tail');
      assert.strictEqual(log.records.filter((r) => r.type === 'set').length, n);
      const r = recover(t.name, t.dir, engine);
      open.push(r);
      assert.deepStrictEqual(contents(r, 'n'), want);
    });
  }

  it('stops prefaulting once the kernel refuses it (EINVAL)', async () => {
    answer = require('os').constants.errno.EINVAL;
    const { s } = create('js', 'none');
    fill(s, C.WAL_PREALLOC_NONE_BYTES / 2);
    // growth.js sees the refusal in a callback of the same promise, attached before this one.
    await Promise.all(calls.map((c) => c.done.then(() => undefined)));
    assert.strictEqual(calls.length, 1);
    fill(s, 2 * C.WAL_PREALLOC_NONE_BYTES + (1 << 20));
    assert.strictEqual(calls.length, 1, 'no prefault after the refusal');
    assert.strictEqual(s.verify().ok, true);
  });

  it('never prefaults in a mode that syncs', () => {
    const { s } = create('js', 'interval');
    fill(s, C.WAL_PREALLOC_BYTES + (1 << 16));
    assert.strictEqual(calls.length, 0);
  });

  // A handle closed while the prefault of its mapping runs: closing the mapping at once made its
  // range private zeros that the prefault then made present, 8 MiB a handle held until some
  // garbage collection (V8 does not count them), so a loop of short-lived stores grew by that much
  // a store. The mapping is closed once the prefault ends instead, and its pages go with it.
  for (const engine of ['native', 'js']) {
    it(`${engine}: a handle closed while its mapping is prefaulted does not keep the prefaulted pages`, async () => {
      const CYCLES = 30;
      const script = path.join(__dirname, '..', 'helpers', 'children', 'persist-cycles.js');
      const r = await runNode(script, [engine, String(CYCLES)]);
      assert.strictEqual(r.code, 0, r.stderr);
      const { growth, prefaults } = JSON.parse(r.stdout);
      if (prefaults === 0) return; // no prefault here (the kernel refused it): nothing to keep
      assert.ok(growth < (CYCLES * C.WAL_PREALLOC_NONE_BYTES) / 4, `the resident set grew by ${growth} bytes over ${CYCLES} stores`);
    });
  }

  it('prefaultLogSpace refuses a range outside its view', () => {
    const view = new Uint8Array(new SharedArrayBuffer(4096));
    assert.throws(() => native.addon.prefaultLogSpace(view, 4097, 0), RangeError);
    assert.throws(() => native.addon.prefaultLogSpace(view, 0, 4097), RangeError);
    assert.throws(() => native.addon.prefaultLogSpace(view, 4000, 100), RangeError);
    assert.throws(() => native.addon.prefaultLogSpace({}, 0, 1), TypeError);
  });
});
