'use strict';
// A damaged SPSC ring's reader (docs/format.md §15, "Damage" of the ring; docs/api.md,
// `ring.discard()`): a record whose header is sound but whose payload does not decode is dropped
// with ERR_CORRUPT (`needsDiscard` false) and the reading goes on with the next record; a header
// no producer writes (the next record cannot be found) or indices farther apart than the capacity
// throw ERR_CORRUPT with `needsDiscard` true at every read, dropping nothing, until the consumer's
// discard() drops what was published, after which the ring works again.
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

const dropped = (e) => e.code === 'ERR_CORRUPT' && e.needsDiscard === false;
const stuck = (e) => e.code === 'ERR_CORRUPT' && e.needsDiscard === true;

describe('SpscRing: a damaged record', () => {
  describe('whose header is sound and whose payload does not decode is dropped; the next read goes on', () => {
    it('tryDequeue(), for a JSON record in Latin-1 and one in UTF-8', () => {
      const { r, u32, u8 } = ring();
      for (const v of ['a', { b: 1 }, 'c', { 'é': 2 }, 'e']) r.tryEnqueue(v);
      const at = recordsAt(u32, 5);
      u8[at[1] + WORD] = 0x5d; // ']' for '{'
      u8[at[3] + WORD] = 0x5d;
      assert.strictEqual(r.tryDequeue(), 'a');
      assert.throws(() => r.tryDequeue(), dropped);
      assert.strictEqual(r.peek(), 'c');
      assert.strictEqual(r.tryDequeue(), 'c');
      assert.throws(() => r.peek(), dropped); // peek drops nothing: the next take does
      assert.throws(() => r.tryDequeue(), dropped);
      assert.strictEqual(r.tryDequeue(), 'e');
      assert.strictEqual(r.size, 0);
    });

    it('tryDequeueBatch(): the call releases what it took and the damaged record, throws with `received`; the next call gets the rest', () => {
      const { r, u32, u8 } = ring();
      const values = ['a', { b: 1 }, 'c', { 'é': 2 }, 'e', { f: 3 }];
      r.enqueueBatch(values);
      const at = recordsAt(u32, values.length);
      u8[at[1] + WORD] = 0x5d; // in a run of Latin-1 records
      u8[at[3] + WORD] = 0x5d; // a UTF-8 record, read alone
      assert.throws(() => r.tryDequeueBatch(), (e) => dropped(e) && assert.deepStrictEqual(e.received, ['a']) === undefined);
      assert.throws(() => r.tryDequeueBatch(), (e) => dropped(e) && assert.deepStrictEqual(e.received, ['c']) === undefined);
      assert.deepStrictEqual(r.tryDequeueBatch(), ['e', { f: 3 }]);
      assert.strictEqual(r.size, 0);
    });

    it('dequeueAsync(): the pending take that meets it rejects, the next one gets the next message', async () => {
      const { r, u32, u8 } = ring();
      const first = r.dequeueAsync();
      const second = r.dequeueAsync();
      const producer = SpscRing.open({ buffer: r.buffer });
      try {
        producer.enqueueBatch([{ a: 1 }, 'b']);
        u8[recordsAt(u32, 1)[0] + WORD] = 0x5d;
        // Served by the try form's turn (it lets the pending calls go first), or by their wake-up.
        assert.strictEqual(r.tryDequeue(), undefined);
        await assert.rejects(first, dropped);
        assert.strictEqual(await second, 'b');
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
