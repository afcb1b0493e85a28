'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');
const { Worker } = require('worker_threads');
const { Segment, ShmError } = require('../..');
const { uniqueName, tempDir, removeShm, runNode, spinUntil, until } = require('../helpers/process');

const FIXTURES = path.join(__dirname, '..', 'helpers', 'children');
const GiB = 2 ** 30;

describe('Segment', function () {
  const names = [];
  let tmp;
  const name = (tag) => {
    const n = uniqueName(tag);
    names.push(n);
    return n;
  };

  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => {
    tmp.cleanup();
    while (names.length) removeShm(names.pop());
  });

  describe('create / open / unlink', function () {
    it('creates a shared memory segment and maps the same memory on open', function () {
      const n = name('basic');
      const a = Segment.create({ name: n, size: 4096 });
      assert.strictEqual(a.size, 4096);
      assert.strictEqual(a.name, n);
      assert.strictEqual(a.path, null);
      assert.strictEqual(a.closed, false);
      assert.ok(a.buffer instanceof SharedArrayBuffer);
      assert.strictEqual(a.buffer.byteLength, 4096);
      assert.ok(fs.existsSync(`/dev/shm/${n}`));
      new Uint8Array(a.buffer).set([1, 2, 3], 100);
      const b = Segment.open({ name: n });
      assert.strictEqual(b.size, 4096);
      assert.deepStrictEqual([...new Uint8Array(b.buffer, 100, 3)], [1, 2, 3]);
      new Int32Array(b.buffer)[10] = -7;
      assert.strictEqual(new Int32Array(a.buffer)[10], -7);
      a.close();
      b.close();
      Segment.unlink({ name: n });
      assert.ok(!fs.existsSync(`/dev/shm/${n}`));
    });

    it('returns the same SharedArrayBuffer object on every access', function () {
      const seg = Segment.create({ name: name('same'), size: 100 });
      const first = seg.buffer;
      for (let i = 0; i < 10; i++) assert.strictEqual(seg.buffer, first);
      seg.close();
      seg.unlink();
    });

    it('creates a file segment by path (string or file: URL) with the given mode', function () {
      const file = path.join(tmp.dir, 'seg.bin');
      const seg = Segment.create({ path: file, size: 10000, mode: 0o640 });
      assert.strictEqual(seg.path, file);
      assert.strictEqual(seg.name, null);
      const st = fs.statSync(file);
      assert.strictEqual(st.size, 10000);
      assert.strictEqual(st.mode & 0o777, 0o640);
      new Uint8Array(seg.buffer)[9999] = 0xab;
      const again = Segment.open({ path: pathToFileURL(file) });
      assert.strictEqual(new Uint8Array(again.buffer)[9999], 0xab);
      again.close();
      seg.close();
      // close() keeps the file; unlink() removes it.
      assert.ok(fs.existsSync(file));
      seg.unlink();
      assert.ok(!fs.existsSync(file));
    });

    it('mode reads the permission bits of the object the handle mapped: after a chmod, after its name is gone; ERR_CLOSED after close()', function () {
      const old = process.umask(0o077);
      try {
        const n = name('getmode');
        const a = Segment.create({ name: n, size: 1, mode: 0o640 });
        assert.strictEqual(a.mode, 0o640);
        const b = Segment.open({ name: n });
        assert.strictEqual(b.mode, 0o640);
        fs.chmodSync(`/dev/shm/${n}`, 0o604);
        assert.strictEqual(a.mode, 0o604);
        // The name now names another object; the handle's is the one it mapped.
        a.unlink();
        Segment.create({ name: n, size: 1, mode: 0o660 }).close();
        assert.strictEqual(b.mode, 0o604);
        const file = path.join(tmp.dir, 'mode.bin');
        const f = Segment.create({ path: file, size: 1 });
        assert.strictEqual(f.mode, 0o600);
        f.close();
        assert.throws(() => f.mode, { code: 'ERR_CLOSED' });
        a.close();
        b.close();
      } finally {
        process.umask(old);
      }
    });

    it('resolves relative paths to absolute ones', function () {
      const rel = path.relative(process.cwd(), path.join(tmp.dir, 'rel.bin'));
      const seg = Segment.create({ path: rel, size: 1 });
      assert.strictEqual(seg.path, path.join(tmp.dir, 'rel.bin'));
      seg.close();
    });

    it('applies the mode exactly, ignoring the umask', function () {
      const old = process.umask(0o077);
      try {
        const n = name('mode');
        Segment.create({ name: n, size: 1, mode: 0o644 }).close();
        assert.strictEqual(fs.statSync(`/dev/shm/${n}`).mode & 0o777, 0o644);
        const m = name('mode');
        Segment.create({ name: m, size: 1 }).close();
        assert.strictEqual(fs.statSync(`/dev/shm/${m}`).mode & 0o777, 0o600, 'default mode 0600');
      } finally {
        process.umask(old);
      }
    });

    it('supports a 1-byte segment', function () {
      const seg = Segment.create({ name: name('one'), size: 1 });
      assert.strictEqual(seg.buffer.byteLength, 1);
      new Uint8Array(seg.buffer)[0] = 255;
      assert.strictEqual(new Uint8Array(seg.buffer)[0], 255);
      seg.close();
    });

    it('Segment.open of a missing name is ERR_SHM_NOT_FOUND with errno and syscall', function () {
      assert.throws(() => Segment.open({ name: name('missing') }), (e) => {
        assert.ok(e instanceof ShmError);
        assert.strictEqual(e.name, 'ShmError');
        assert.strictEqual(e.code, 'ERR_SHM_NOT_FOUND');
        assert.strictEqual(e.errno, 2);
        assert.strictEqual(e.syscall, 'shm_open');
        return true;
      });
      assert.throws(() => Segment.open({ path: path.join(tmp.dir, 'nope') }), { code: 'ERR_SHM_NOT_FOUND', syscall: 'open' });
      assert.throws(() => Segment.unlink({ name: name('missing') }), { code: 'ERR_SHM_NOT_FOUND', syscall: 'shm_unlink' });
    });

    it('exclusive create of an existing name is ERR_SHM_EXISTS', function () {
      const n = name('excl');
      const seg = Segment.create({ name: n, size: 64 });
      assert.throws(() => Segment.create({ name: n, size: 64 }), { name: 'ShmError', code: 'ERR_SHM_EXISTS', errno: 17 });
      assert.throws(() => Segment.create({ name: n, size: 64, exclusive: true }), { code: 'ERR_SHM_EXISTS' });
      seg.close();
    });

    it('non-exclusive create opens an existing segment, grows it, and never shrinks it', function () {
      const n = name('grow');
      const a = Segment.create({ name: n, size: 8192 });
      new Uint8Array(a.buffer)[8000] = 9;
      const smaller = Segment.create({ name: n, size: 100, exclusive: false });
      assert.strictEqual(smaller.size, 8192, 'maps the existing (larger) size');
      assert.strictEqual(fs.statSync(`/dev/shm/${n}`).size, 8192, 'not truncated');
      assert.strictEqual(new Uint8Array(smaller.buffer)[8000], 9);
      const larger = Segment.create({ name: n, size: 20000, exclusive: false, reserve: false });
      assert.strictEqual(larger.size, 20000);
      assert.strictEqual(fs.statSync(`/dev/shm/${n}`).size, 20000);
      assert.strictEqual(new Uint8Array(larger.buffer)[8000], 9, 'data kept');
      // The first mapping is still fully usable.
      new Uint8Array(a.buffer)[8191] = 1;
      for (const s of [a, smaller, larger]) s.close();
    });

    it('non-exclusive create of a missing name creates it', function () {
      const n = name('nx');
      const seg = Segment.create({ name: n, size: 4096, exclusive: false, mode: 0o600 });
      assert.strictEqual(seg.size, 4096);
      seg.close();
    });

    it('reserve: true allocates the space now; reserve: false is sparse', function () {
      const dense = Segment.create({ path: path.join(tmp.dir, 'dense'), size: 4 << 20 });
      const sparse = Segment.create({ path: path.join(tmp.dir, 'sparse'), size: 4 << 20, reserve: false });
      assert.ok(fs.statSync(dense.path).blocks * 512 >= 4 << 20, 'reserved');
      assert.strictEqual(fs.statSync(sparse.path).blocks, 0, 'sparse');
      dense.close();
      sparse.close();
    });

    it('maps a 64 GiB sparse segment and writes at its end', function () {
      const seg = Segment.create({ name: name('big'), size: 64 * GiB, reserve: false });
      assert.strictEqual(seg.size, 64 * GiB);
      assert.strictEqual(seg.buffer.byteLength, 64 * GiB);
      const tail = new Uint8Array(seg.buffer, 64 * GiB - 4096, 4096);
      tail[4095] = 77;
      assert.strictEqual(tail[4095], 77);
      seg.close();
    });

    it('a file too small to map (0 bytes) is ERR_BAD_SIZE', function () {
      const file = path.join(tmp.dir, 'empty');
      fs.writeFileSync(file, '');
      assert.throws(() => Segment.open({ path: file }), (e) => {
        assert.strictEqual(e.code, 'ERR_BAD_SIZE');
        assert.match(e.message, /too small to map/);
        return true;
      });
      const n = name('empty');
      fs.writeFileSync(`/dev/shm/${n}`, '');
      assert.throws(() => Segment.open({ name: n }), { code: 'ERR_BAD_SIZE' });
    });

    it('refuses what is not a regular file', function () {
      assert.throws(() => Segment.open({ path: '/dev/null' }), { code: 'ERR_INVALID_ARG', message: /not a regular file/ });
      assert.throws(() => Segment.open({ path: tmp.dir }), { code: 'ERR_INVALID_ARG', errno: 21 });
      assert.throws(() => Segment.create({ path: tmp.dir, size: 1, exclusive: false }), { code: 'ERR_INVALID_ARG' });
    });

    it('a size above the platform limit is a RangeError with code ERR_SHM_TOO_LARGE', function () {
      for (const size of [2 ** 47 + 1, 2 ** 50, Number.MAX_SAFE_INTEGER]) {
        assert.throws(() => Segment.create({ name: name('huge'), size }), (e) => {
          assert.ok(e instanceof RangeError);
          assert.strictEqual(e.code, 'ERR_SHM_TOO_LARGE');
          return true;
        });
      }
    });

    it('a size mmap cannot place is ShmError ERR_SHM_TOO_LARGE and leaves nothing behind', function () {
      const n = name('enomem');
      assert.throws(() => Segment.create({ name: n, size: 2 ** 47 - 4096, reserve: false }), {
        name: 'ShmError',
        code: 'ERR_SHM_TOO_LARGE',
        syscall: 'mmap',
      });
      assert.ok(!fs.existsSync(`/dev/shm/${n}`));
    });

    it('a grow of a file segment that fails (the size limit of the process) leaves the file as it was: its size and its allocated blocks', function () {
      // RLIMIT_FSIZE of 16 MiB (ulimit -f counts KiB): allocating 64 MiB may succeed where the
      // file system allocates without changing the size, and the size change then fails (EFBIG).
      const { dir, cleanup } = tempDir();
      try {
        const file = path.join(dir, 'grow.bin');
        const script = `
          const fs = require('fs');
          const { Segment } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
          const a = Segment.create({ path: ${JSON.stringify(file)}, size: 1 << 20 });
          let code = null;
          try { Segment.create({ path: ${JSON.stringify(file)}, size: 64 << 20, exclusive: false }).close(); } catch (e) { code = e.code; }
          const st = fs.statSync(${JSON.stringify(file)});
          a.close();
          console.log(JSON.stringify({ code, size: st.size, allocated: st.blocks * 512 }));`;
        const r = require('child_process').spawnSync('bash', ['-c', 'ulimit -f 16384 && exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8' });
        assert.strictEqual(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout.trim());
        assert.ok(out.code === 'ERR_SHM_TOO_LARGE' || out.code === 'ERR_SHM_NO_SPACE', JSON.stringify(out));
        assert.strictEqual(out.size, 1 << 20);
        assert.ok(out.allocated <= 2 << 20, `${out.allocated} bytes still allocated`);
      } finally {
        cleanup();
      }
    });

    it('a full /dev/shm is ERR_SHM_NO_SPACE at creation (reserve) and leaves nothing behind', function () {
      const st = fs.statfsSync('/dev/shm');
      const total = st.blocks * st.bsize;
      if (!(total > 0 && total < 2 ** 46)) this.skip(); // unlimited tmpfs: cannot be filled safely
      // Larger than the whole file system: refused before anything is allocated.
      const n = name('nospace');
      assert.throws(() => Segment.create({ name: n, size: total + GiB }), {
        name: 'ShmError',
        code: 'ERR_SHM_NO_SPACE',
        errno: 28,
        syscall: 'posix_fallocate',
      });
      assert.ok(!fs.existsSync(`/dev/shm/${n}`));
    });

    it('permission denied is ERR_SHM_ACCESS', async function () {
      const n = name('acc');
      Segment.create({ name: n, size: 64, mode: 0o000 }).close();
      const file = path.join(tmp.dir, 'locked');
      Segment.create({ path: file, size: 64, mode: 0o000 }).close();
      fs.chmodSync(tmp.dir, 0o755); // only the file's own mode may refuse access
      const script = path.join(FIXTURES, 'access-child.js');
      // Root is never refused (CAP_DAC_OVERRIDE): drop to 'nobody' in a child after loading.
      const uid = process.getuid() === 0 ? ['65534'] : [];
      for (const [kind, value, syscall] of [['name', n, 'shm_open'], ['path', file, 'open']]) {
        const r = await runNode(script, [kind, value, ...uid]);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.strictEqual(r.stdout.trim(), `ERR_SHM_ACCESS 13 ${syscall}`);
      }
    });

    it('cannot be constructed directly', function () {
      assert.throws(() => new Segment(), TypeError);
      assert.throws(() => new Segment(Symbol('x'), {}, {}), TypeError);
    });
  });

  describe('bad input (validated in JS before the addon)', function () {
    const ok = () => ({ name: name('bad'), size: 64 });
    const cases = [
      // [description, options, error class, message pattern]
      ['options missing', undefined, TypeError, /"options" argument must be an object/],
      ['options null', null, TypeError, /must be an object/],
      ['options a string', 'name', TypeError, /must be an object/],
      ['options an array', [], TypeError, /must be an object/],
      ['neither name nor path', { size: 1 }, TypeError, /Exactly one of/],
      ['both name and path', { name: 'a', path: '/tmp/a', size: 1 }, TypeError, /Exactly one of/],
      ['unknown option (typo)', { name: 'a', size: 1, exlusive: true }, TypeError, /Unknown option "options.exlusive"/],
      ['name a number', { name: 5, size: 1 }, TypeError, /"options.name" argument must be of type string/],
      ['name empty', { name: '', size: 1 }, RangeError, /1 to 200 characters/],
      ['name too long', { name: 'x'.repeat(201), size: 1 }, RangeError, /1 to 200 characters/],
      ['name with a slash', { name: '/abc', size: 1 }, RangeError, /no "\/"/],
      ['name with a space', { name: 'a b', size: 1 }, RangeError, /contain only/],
      ['name with NUL', { name: 'a\0b', size: 1 }, RangeError, /NUL/],
      ['name "."', { name: '.', size: 1 }, RangeError, /must not be "."/],
      ['name ".."', { name: '..', size: 1 }, RangeError, /must not be ".."/],
      ['path a number', { path: 1, size: 1 }, TypeError, /"options.path" argument must be of type string/],
      ['path empty', { path: '', size: 1 }, RangeError, /characters long/],
      ['path with NUL', { path: '/tmp/a\0b', size: 1 }, RangeError, /NUL/],
      ['path a non-file URL', { path: new URL('http://x/y'), size: 1 }, TypeError, /file/],
      ['path a file URL with a host', { path: new URL('file://host/y'), size: 1 }, TypeError, /file: URL/],
      ['size missing', { name: 'a' }, TypeError, /"options.size" argument is required/],
      ['size a string', { name: 'a', size: '64' }, TypeError, /must be of type number/],
      ['size a bigint', { name: 'a', size: 64n }, TypeError, /must be of type number/],
      ['size 0', { name: 'a', size: 0 }, RangeError, />= 1/],
      ['size negative', { name: 'a', size: -1 }, RangeError, />= 1/],
      ['size fractional', { name: 'a', size: 1.5 }, RangeError, /integer/],
      ['size NaN', { name: 'a', size: NaN }, RangeError, /integer/],
      ['size Infinity', { name: 'a', size: Infinity }, RangeError, /integer/],
      ['mode a string', { name: 'a', size: 1, mode: '600' }, TypeError, /"options.mode"/],
      ['mode too large', { name: 'a', size: 1, mode: 0o1000 }, RangeError, /"options.mode"/],
      ['mode negative', { name: 'a', size: 1, mode: -1 }, RangeError, /"options.mode"/],
      ['exclusive not boolean', { name: 'a', size: 1, exclusive: 1 }, TypeError, /"options.exclusive" argument must be of type boolean/],
      ['reserve not boolean', { name: 'a', size: 1, reserve: 'no' }, TypeError, /"options.reserve" argument must be of type boolean/],
    ];
    for (const [what, options, cls, pattern] of cases) {
      it(`create: ${what}`, function () {
        assert.throws(() => Segment.create(options), (e) => {
          assert.ok(e instanceof cls, `${e.constructor.name}: ${e.message}`);
          assert.match(e.message, pattern);
          assert.strictEqual(e.code, 'ERR_INVALID_ARG', e.message);
          return true;
        });
      });
    }
    it('open and unlink validate { name | path } the same way and refuse create-only options', function () {
      for (const fn of [Segment.open, Segment.unlink]) {
        assert.throws(() => fn(), TypeError);
        assert.throws(() => fn(null), TypeError);
        assert.throws(() => fn({}), /Exactly one of/);
        assert.throws(() => fn({ name: 'a', path: '/tmp/a' }), /Exactly one of/);
        assert.throws(() => fn({ name: 7 }), TypeError);
        assert.throws(() => fn({ name: 'a/b' }), RangeError);
        assert.throws(() => fn({ path: '' }), RangeError);
        assert.throws(() => fn({ name: 'a', size: 1 }), /Unknown option "options.size"/);
      }
    });
    it('validation errors carry code ERR_INVALID_ARG and nothing is created', function () {
      const o = ok();
      assert.throws(() => Segment.create({ ...o, mode: 0o7777 }), { code: 'ERR_INVALID_ARG' });
      assert.ok(!fs.existsSync(`/dev/shm/${o.name}`));
    });
    it('the addon itself refuses bad input without crashing', function () {
      const { addon } = require('../../lib/base/native');
      assert.throws(() => addon.segmentCreate(), TypeError);
      assert.throws(() => addon.segmentCreate(0, 'a', 0, 0o600, true, true), RangeError);
      assert.throws(() => addon.segmentCreate(2, 'a', 1, 0o600, true, true), RangeError);
      assert.throws(() => addon.segmentCreate(0, 'a\0b', 1, 0o600, true, true), TypeError);
      assert.throws(() => addon.segmentCreate(0, '../etc', 1, 0o600, true, true), { code: 'ERR_INVALID_ARG' });
      assert.throws(() => addon.segmentCreate(0, 'a', 1, 0o600, 'yes', true), TypeError);
      assert.throws(() => addon.segmentOpen(0, {}), TypeError);
      assert.throws(() => addon.segmentUnlink(), TypeError);
      const h = new addon.SegmentHandle();
      assert.strictEqual(h.closed, true);
      assert.throws(() => h.buffer(), { code: 'ERR_CLOSED' });
      assert.throws(() => h.mode, { code: 'ERR_CLOSED' });
      h.close();
      assert.throws(() => addon.setErrorClass(42), TypeError);
    });

    it('methods and accessors called on something that is not a handle throw TypeError ERR_INVALID_ARG', function () {
      // (test/50-store/create-open-attach.test.js calls them on an object another part of the
      // addon wraps.)
      const { addon } = require('../../lib/base/native');
      const proto = addon.SegmentHandle.prototype;
      const getter = (key) => Object.getOwnPropertyDescriptor(proto, key).get;
      for (const self of [{}, 5, undefined, Object.create(proto)]) {
        for (const call of [() => proto.buffer.call(self), () => proto.close.call(self),
          () => getter('size').call(self), () => getter('closed').call(self), () => getter('mode').call(self)]) {
          assert.throws(call, (e) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG');
        }
      }
      // The handles themselves still answer.
      const h = new addon.SegmentHandle();
      assert.strictEqual(h.closed, true);
      assert.strictEqual(h.size, 0);
    });
  });

  describe('close', function () {
    it('is idempotent; buffer throws ERR_CLOSED after it; unlink still works', function () {
      const n = name('close');
      const seg = Segment.create({ name: n, size: 64 });
      seg.close();
      seg.close();
      assert.strictEqual(seg.closed, true);
      assert.strictEqual(seg.size, 64);
      assert.throws(() => seg.buffer, (e) => e instanceof ShmError && e.code === 'ERR_CLOSED');
      seg.unlink();
      assert.ok(!fs.existsSync(`/dev/shm/${n}`));
    });

    it('close before buffer was ever created unmaps at once', function () {
      const n = name('nobuf');
      const seg = Segment.create({ name: n, size: 65536 });
      assert.ok(fs.readFileSync('/proc/self/maps', 'utf8').includes(`/dev/shm/${n}`));
      seg.close();
      assert.ok(!fs.readFileSync('/proc/self/maps', 'utf8').includes(`/dev/shm/${n}`));
    });

    it('releases the shared pages at once when no other thread holds the buffer', function () {
      const n = name('sole');
      const seg = Segment.create({ name: n, size: 1 << 20 });
      const stale = new Int32Array(seg.buffer);
      stale[0] = 123;
      const other = Segment.open({ name: n });
      seg.close();
      const maps = fs.readFileSync('/proc/self/maps', 'utf8');
      assert.strictEqual(maps.split(`/dev/shm/${n}`).length - 1, 1, 'only the second mapping is left');
      // A view kept past close() does not crash; it no longer shares memory.
      assert.strictEqual(stale[0], 0);
      stale[0] = 5;
      assert.strictEqual(new Int32Array(other.buffer)[0], 123);
      other.close();
    });

    it('keeps the shared pages while a handle of this thread holds the buffer (holdBuffer)', function () {
      const { holdBuffer, releaseBuffer } = require('../../lib/segment/segment');
      const n = name('held');
      const seg = Segment.create({ name: n, size: 1 << 20 });
      const view = new Int32Array(seg.buffer);
      const other = Segment.open({ name: n });
      holdBuffer(seg.buffer);
      seg.close();
      // Still the shared memory: a write through the held buffer reaches the other mapping.
      view[0] = 77;
      assert.strictEqual(new Int32Array(other.buffer)[0], 77);
      releaseBuffer(view.buffer);
      // Held and released again: close frees the pages at once, as for a buffer never held.
      const again = Segment.open({ name: n });
      holdBuffer(again.buffer);
      releaseBuffer(again.buffer);
      const stale = new Int32Array(again.buffer);
      again.close();
      assert.strictEqual(stale[0], 0);
      assert.strictEqual(new Int32Array(other.buffer)[0], 77);
      other.close();
    });

    it('keeps the memory valid for a worker that is still writing', async function () {
      const seg = Segment.create({ name: name('writer'), size: 4096 });
      const control = new SharedArrayBuffer(4);
      const iterations = 2000000;
      const worker = new Worker(path.join(FIXTURES, 'writer-worker.js'), {
        workerData: { buffer: seg.buffer, control, iterations },
      });
      // Listened for from the start: 'exit' can follow the last message in the same turn.
      const exit = new Promise((r) => worker.once('exit', r));
      const done = new Promise((resolve, reject) => {
        worker.on('message', (m) => {
          if (m.started) {
            seg.close();
            seg.unlink();
            assert.throws(() => seg.buffer, { code: 'ERR_CLOSED' });
            Atomics.store(new Int32Array(control), 0, 1);
            Atomics.notify(new Int32Array(control), 0);
          } else {
            resolve(m.value);
          }
        });
        worker.on('error', reject);
      });
      assert.strictEqual(await done, iterations);
      await exit;
    });

    it('unmaps only when every holder dropped the buffer and GC ran (also after the loading worker exits)', async function () {
      const r = await runNode(path.join(FIXTURES, 'lifetime-gc.js'), [], { nodeArgs: ['--expose-gc'] });
      assert.strictEqual(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepStrictEqual(out, {
        a: { value: 42, before: true, gone: true },
        b: { afterClose: true, workerWrote: 1, gone: true },
      });
    });
  });

  describe('sharing', function () {
    it('main + two workers each do 1,000,000 Atomics.add: exact total', async function () {
      const n = name('workers');
      const seg = Segment.create({ name: n, size: 4096 });
      const iterations = 1000000;
      const parties = 3;
      const script = path.join(FIXTURES, 'adder.js');
      // One worker shares this mapping's buffer, the other maps the segment itself by name.
      const workers = [
        new Worker(script, { workerData: { buffer: seg.buffer, parties, iterations } }),
        new Worker(script, { workerData: { name: n, parties, iterations } }),
      ];
      const done = workers.map((w) => new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }));
      const i32 = new Int32Array(seg.buffer);
      Atomics.add(i32, 1, 1);
      spinUntil(i32, 1, parties);
      for (let i = 0; i < iterations; i++) Atomics.add(i32, 0, 1);
      await Promise.all(done);
      assert.strictEqual(Atomics.load(i32, 0), parties * iterations);
      seg.close();
    });

    it('two processes each do 1,000,000 Atomics.add: exact total', async function () {
      const n = name('procs');
      const seg = Segment.create({ name: n, size: 4096 });
      const iterations = 1000000;
      const child = runNode(path.join(FIXTURES, 'adder.js'), [n, '2', String(iterations)]);
      const i32 = new Int32Array(seg.buffer);
      // Wait for the child asynchronously, then both add at the same time.
      await until(() => Atomics.load(i32, 1) >= 1, 'the child to start');
      Atomics.add(i32, 1, 1);
      for (let i = 0; i < iterations; i++) Atomics.add(i32, 0, 1);
      const r = await child;
      assert.strictEqual(r.code, 0, r.stderr);
      assert.strictEqual(Atomics.load(i32, 0), 2 * iterations);
      seg.close();
    });
  });
});
