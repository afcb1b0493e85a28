'use strict';
// A damaged SPSC ring's reader (docs/format.md §15, "Damage" of the ring; docs/api.md,
// `ring.discard()`): a header no producer writes, a JSON record whose text does not parse (the
// next record cannot be found) or indices farther apart than the capacity throw ERR_CORRUPT with
// `needsDiscard` true at every read, dropping nothing and returning nothing that follows, until
// the consumer's discard() drops what was published, after which the ring works again.
const assert = require('assert');
const { SpscRing, layout } = require('../../index');

const { C, W } = layout;
const WORD = Uint32Array.BYTES_PER_ELEMENT;
const HEAD = C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.HEAD;
const TAIL = C.SPSC_CONTROL_OFFSET / WORD + W.SPSC_CONTROL.TAIL;
const DATA = C.SPSC_DATA_OFFSET;

function ring(capacity = 256, elementSize = 0) {
  const buffer = new SharedArrayBuffer(SpscRing.bytesFor(capacity, elementSize ? { elementSize } : undefined));
  const r = SpscRing.create({ buffer, capacity, elementSize });
  return { r, u32: new Uint32Array(buffer), u8: new Uint8Array(buffer) };
}

// The data offset of each record from the head on, as its header says (no wrap in these tests).
function recordsAt(u32, count) {
  const at = [];
  let pos = u32[HEAD];
  for (let k = 0; k < count; k++) {
    at.push(DATA + pos);
    pos += WORD + ((((u32[(DATA + pos) / WORD] & C.MSG_LENGTH_MASK) + 3) >>> 2) << 2);
  }
  return at;
}

const stuck = (e) => e.code === 'ERR_CORRUPT' && e.needsDiscard === true;

describe('SpscRing: a damaged record', () => {
  // A producer writes only JSON text JSON.stringify made: text that does not parse had its payload
  // or its length damaged, and a damaged length puts the next record elsewhere. Nothing is dropped
  // and nothing read past it (the next read would start inside a record and could return junk).
  describe('a JSON record whose text does not parse: every read throws, nothing is dropped, until discard()', () => {
    const damages = {
      'its payload': (u32, u8, at) => {
        u8[at + WORD] = 0x5d; // ']' for '{'
      },
      'its length': (u32, u8, at) => {
        u32[at / WORD] = ((u32[at / WORD] & ~C.MSG_LENGTH_MASK) | 11) >>> 0; // '{"a":1}' is 7 bytes
      },
    };
    for (const [what, damage] of Object.entries(damages)) {
      it(`${what} damaged: tryDequeue() and peek() throw ERR_CORRUPT with needsDiscard at every read, returning nothing that follows`, () => {
        const { r, u32, u8 } = ring();
        r.tryEnqueue('x');
        r.tryEnqueue({ a: 1 });
        r.tryEnqueue(Buffer.from([1, 0, 0, 0, 0x41, 0x42, 0x43, 0x44])); // would read as a record at 11
        r.tryEnqueue('after');
        damage(u32, u8, recordsAt(u32, 2)[1]);
        assert.strictEqual(r.tryDequeue(), 'x');
        const size = r.size;
        for (let i = 0; i < 3; i++) {
          assert.throws(() => r.tryDequeue(), stuck);
          assert.throws(() => r.peek(), stuck);
        }
        assert.strictEqual(r.size, size);
        assert.strictEqual(r.discard(), size);
        r.tryEnqueue('next');
        assert.strictEqual(r.tryDequeue(), 'next');
        r.close();
      });
    }

    it('tryDequeueBatch(), in a run of Latin-1 records and alone in UTF-8: the call takes the records before it and throws them as `received`; the next call takes none', () => {
      for (const bad of [{ b: 1 }, { 'é': 2 }]) {
        const { r, u32, u8 } = ring();
        r.enqueueBatch(['a', 'b', bad, 'c']);
        u8[recordsAt(u32, 3)[2] + WORD] = 0x5d;
        assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && assert.deepStrictEqual(e.received, ['a', 'b']) === undefined);
        assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && e.received.length === 0);
        r.discard();
        r.enqueueBatch(['d', { e: 5 }]);
        assert.deepStrictEqual(r.tryDequeueBatch(), ['d', { e: 5 }]);
        r.close();
      }
    });

    it('dequeueAsync(): every pending take rejects with it', async () => {
      const { r, u32, u8 } = ring();
      const first = r.dequeueAsync();
      const second = r.dequeueAsync();
      const producer = SpscRing.open({ buffer: r.buffer });
      try {
        producer.enqueueBatch([{ a: 1 }, 'b']);
        u8[recordsAt(u32, 1)[0] + WORD] = 0x5d;
        // Served by the try form's turn (it lets the pending calls go first), or by their wake-up.
        assert.throws(() => r.tryDequeue(), stuck);
        await assert.rejects(first, stuck);
        await assert.rejects(second, stuck);
      } finally {
        producer.close();
        r.close();
      }
    });
  });

  describe('whose header no producer writes: every read throws, nothing is dropped, until discard()', () => {
    const headers = {
      'a length above the largest message': (h, r) => (h & ~C.MSG_LENGTH_MASK) | (r.maxMessageBytes + 1),
      'an unknown tag': (h) => ((9 << C.MSG_TAG_SHIFT) | (h & C.MSG_LENGTH_MASK)) >>> 0,
      'a number record of another length than 8': (h) => ((C.MSG_TAG_NUMBER << C.MSG_TAG_SHIFT) | (h & C.MSG_LENGTH_MASK)) >>> 0,
      'a length that runs past the tail': (h) => (h & ~C.MSG_LENGTH_MASK) | 64,
      'a wrap marker that runs past the tail': () => (C.MSG_TAG_WRAP << C.MSG_TAG_SHIFT) >>> 0,
    };
    for (const [what, damage] of Object.entries(headers)) {
      it(`${what}: tryDequeue(), peek(), the batch and Promise forms throw ERR_CORRUPT with needsDiscard; discard() drops what was published and the ring works again`, async () => {
        const { r, u32 } = ring();
        r.tryEnqueue('a');
        r.tryEnqueue('bb');
        const at = recordsAt(u32, 2)[1];
        u32[at / WORD] = damage(u32[at / WORD], r);
        assert.strictEqual(r.tryDequeue(), 'a');
        const size = r.size;
        for (let i = 0; i < 3; i++) {
          assert.throws(() => r.tryDequeue(), stuck);
          assert.throws(() => r.peek(), stuck);
          assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && e.received.length === 0);
        }
        await assert.rejects(r.dequeueAsync(), stuck);
        assert.strictEqual(r.size, size); // nothing was dropped
        r.tryEnqueue('c'); // the producer goes on (room permitting)
        assert.throws(() => r.tryDequeue(), stuck);
        const before = r.size;
        assert.strictEqual(r.discard(), before);
        assert.strictEqual(r.size, 0);
        assert.strictEqual(r.tryDequeue(), undefined);
        r.enqueueBatch(['d', { e: 5 }]);
        assert.deepStrictEqual(r.tryDequeueBatch(), ['d', { e: 5 }]);
        r.close();
      });
    }

    // A producer writes a wrap marker with length 0: one with another length was damaged (or the
    // header was never a wrap marker), and skipping to place 0 would follow a guess.
    it('a wrap marker whose length is not 0: every read throws ERR_CORRUPT with needsDiscard after the sound records, nothing is read from place 0, until discard()', async () => {
      for (const length of [4, 8, C.MSG_LENGTH_MASK]) {
        const { r, u32 } = ring();
        for (let i = 0; i < 29; i++) {
          r.tryEnqueue('abcd');
          r.tryDequeue();
        }
        r.tryEnqueue('abcd'); // 232..240
        r.tryEnqueue('efgh'); // 240..248
        r.tryEnqueue('Q'.repeat(60)); // a wrap marker at 248, the record at place 0
        const at = DATA + 248;
        assert.strictEqual(u32[at / WORD], (C.MSG_TAG_WRAP << C.MSG_TAG_SHIFT) >>> 0);
        u32[at / WORD] = ((C.MSG_TAG_WRAP << C.MSG_TAG_SHIFT) | length) >>> 0;
        assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && assert.deepStrictEqual(e.received, ['abcd', 'efgh']) === undefined, `length ${length}`);
        for (let i = 0; i < 3; i++) {
          assert.throws(() => r.tryDequeue(), stuck, `length ${length}`);
          assert.throws(() => r.peek(), stuck, `length ${length}`);
          assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && e.received.length === 0);
        }
        assert.throws(() => r.dequeue(0), stuck);
        await assert.rejects(r.dequeueAsync(), stuck);
        assert.strictEqual(u32[HEAD], 248); // nothing dropped
        assert.strictEqual(r.discard(), (u32[TAIL] - 248) >>> 0);
        r.tryEnqueue('after');
        assert.strictEqual(r.tryDequeue(), 'after');
        r.close();
      }
    });

    // A record's length that is sound in every other way (at most the largest message, within
    // what was published) but takes it past the end of the data, where a producer writes a wrap
    // marker instead: the reader must not read past the ring nor take what follows for a message.
    describe('a record that runs past the end of the data', () => {
      // Records at 232 (binary), 240 and 248 (Latin-1), then one at place 0 after the wrap; the
      // header at 248 says 40 bytes.
      function pastEnd() {
        const { r, u32 } = ring();
        for (let i = 0; i < 29; i++) {
          r.tryEnqueue('abcd');
          r.tryDequeue();
        }
        r.tryEnqueue(Buffer.from('BIN!'));
        r.tryEnqueue('abcd');
        r.tryEnqueue('efgh');
        r.tryEnqueue('Q'.repeat(60));
        const at = DATA + 248;
        assert.strictEqual(u32[HEAD], 232);
        u32[at / WORD] = ((C.MSG_TAG_LATIN1 << C.MSG_TAG_SHIFT) | 40) >>> 0;
        return { r, u32, at };
      }
      const headers = {
        'Latin-1': C.MSG_TAG_LATIN1,
        'UTF-8': C.MSG_TAG_UTF8,
        binary: C.MSG_TAG_BINARY,
        JSON: C.MSG_TAG_JSON,
      };
      for (const [what, tag] of Object.entries(headers)) {
        it(`${what}: tryDequeue() and peek() throw ERR_CORRUPT with needsDiscard after the sound records, at every read; discard() gets past it`, () => {
          const { r, u32, at } = pastEnd();
          u32[at / WORD] = ((tag << C.MSG_TAG_SHIFT) | 40) >>> 0;
          assert.deepStrictEqual(r.tryDequeue(), Buffer.from('BIN!'));
          assert.strictEqual(r.tryDequeue(), 'abcd');
          for (let i = 0; i < 3; i++) {
            assert.throws(() => r.tryDequeue(), stuck);
            assert.throws(() => r.peek(), stuck);
          }
          assert.strictEqual(u32[HEAD], 248); // nothing dropped
          assert.strictEqual(r.discard(), (u32[TAIL] - 248) >>> 0);
          r.tryEnqueue('after');
          assert.strictEqual(r.tryDequeue(), 'after');
          r.close();
        });
      }

      it('a batch returns nothing it read past the end and loses no sound message: they come as `received`', async () => {
        const { r, u32 } = pastEnd();
        assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && assert.deepStrictEqual(e.received, [Buffer.from('BIN!'), 'abcd']) === undefined);
        assert.strictEqual(u32[HEAD], 248);
        assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && e.received.length === 0);
        await assert.rejects(r.dequeueAsync(), stuck);
        r.discard();
        r.enqueueBatch(['x', 'y']);
        assert.deepStrictEqual(r.tryDequeueBatch(), ['x', 'y']);
        r.close();
      });
    });

    it('a batch that meets it after sound records releases them and throws them as `received`', () => {
      const { r, u32 } = ring();
      r.enqueueBatch(['a', 'b', 'c', 'd']);
      const at = recordsAt(u32, 3)[2];
      u32[at / WORD] = (u32[at / WORD] & ~C.MSG_LENGTH_MASK) | (r.maxMessageBytes + 1);
      assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && assert.deepStrictEqual(e.received, ['a', 'b']) === undefined);
      assert.throws(() => r.tryDequeueBatch(), (e) => stuck(e) && e.received.length === 0);
      assert.strictEqual(r.discard(), 16); // 'c' and 'd': 8 bytes each
      r.tryEnqueue('e');
      assert.strictEqual(r.tryDequeue(), 'e');
    });
  });

  describe('indices farther apart than the capacity', () => {
    for (const elementSize of [0, 8]) {
      it(`${elementSize ? 'elements' : 'records'}: reads throw ERR_CORRUPT with needsDiscard; the consumer's discard() makes the ring sound again`, () => {
        const { r, u32 } = ring(256, elementSize);
        const put = (v) => (elementSize ? r.tryEnqueue(new Float64Array([v])) : r.tryEnqueue(v));
        const take = () => {
          if (!elementSize) return r.tryDequeue();
          const out = new Float64Array(1);
          return r.tryDequeueInto(out) === 1 ? out[0] : undefined;
        };
        put(1);
        u32[HEAD] = (u32[TAIL] - 5000) >>> 0;
        assert.throws(() => take(), stuck);
        assert.throws(() => take(), stuck);
        assert.throws(() => r.size, stuck);
        assert.strictEqual(r.discard(), 5000);
        assert.strictEqual(r.size, 0);
        assert.strictEqual(take(), undefined);
        assert.ok(put(3));
        assert.strictEqual(take(), 3);
      });
    }
  });
});
