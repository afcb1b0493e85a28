'use strict';
// Compaction moves of large blocks in the pure-JS engine (docs/format.md §8, "Compaction", step
// 2, "Large blocks"): a large value in a step's window is copied into a free large block below
// the window (its head) without any bucket lock (as a writer fills one), then, under the bucket lock of the
// entry that refers to it, a copy of that entry referring to the new block replaces it with one
// store, and the old entry's block and the old large block are freed. The copy's checksum is
// computed afresh, so only a whole entry is copied (its checksum and keyHash right): a damaged one
// stays, an obstacle, for readers and the repair pass to judge. Mirrors Store::MoveLarge in
// src/store/compact_large.cpp.
const { C, W, H, AT, UNIT_WORDS } = require('../../layout/layout');
const { xxh32, xxh32Aligned } = require('../../base/xxhash');
const { NEED_REPAIR } = require('./locks');
const { ALLOC_LOCK, FREE_HEAD, allocLarge, freeUnlinkedLarge, classFor, push, pushLargeBehind, refSumMatches } = require('./alloc');
const { bucketOf } = require('./read');
const chain = require('./chain');
const large = require('./large');
const repairs = require('./repair');

const E = W.ENTRY;
const LB = W.LARGE_BLOCK;
const B = W.BUCKET;
const LARGE_HDR = C.LARGE_HEADER_SIZE;
const CLASS_SHIFT = C.FLAG_CLASS_SHIFT;
const CLASS_BITS = (C.FLAG_CLASS_MASK << CLASS_SHIFT) >>> 0;
const GC_COUNTER = AT.HEADER.GC_COUNTER;
const REF_BYTES = C.INDIRECT_VALUE_BYTES;
// The u32 index, in an entry, of the word keyLength starts (the immutable fields that follow it).
const IMMUTABLE_WORD = H.ENTRY.KEY_LENGTH / 2;

// relink(): moved, but the old blocks are left to a repair pass (the allocator lock's holder is
// gone); `to` is linked and must stay.
const MOVED_REPAIR = 2;

// After an allocator failure: a gone lock holder or a damaged list gets a repair pass.
function afterFailure(e, st) {
  if (st === NEED_REPAIR) repairs.repair(e, false);
  else if (st < 0) repairs.repair(e);
}

// Moves the large block at `lu` down, wholly below itself, if it is still a linked value there
// (its entry's copy as allocMoveTarget says for a window that ends at `above`); r is the step's
// report (moved, movedUnits, merged, obstacles). Anything else leaves it an obstacle.
function moveLarge(e, lu, above, r) {
  const u32 = e.u32;
  const lw = lu * UNIT_WORDS;
  // A block being written (writer not 0) or freed meanwhile stays.
  const n = u32[lw + LB.VALUE_LENGTH];
  if (Atomics.load(u32, lw + LB.FLAGS) !== large.LIVE_LARGE_FLAGS || Atomics.load(u32, lw + LB.WRITER) !== 0 ||
      n <= C.MAX_INLINE_VALUE_BYTES || n > C.MAX_VALUE_BYTES) {
    r[3]++;
    return;
  }
  const h = u32[lw + LB.KEY_HASH];
  const sum = u32[lw + LB.VALUE_CHECKSUM];
  const units = large.unitsForLarge(n);
  const claim = { gc: 0, keyHash: 0, sum: 0 };
  const to = allocLarge(e, units, claim, lu);
  if (to <= 0) {
    r[3]++;
    afterFailure(e, to);
    return;
  }
  // The copy, outside any lock: nobody reaches `to` before the entry that will refer to it. A
  // copy that overlapped a change of the source does not hash to the checksum read before it.
  const tw = to * UNIT_WORDS;
  const from = lu * C.BLOCK_UNIT + LARGE_HDR;
  e.u8.copyWithin(to * C.BLOCK_UNIT + LARGE_HDR, from, from + n);
  u32[tw + LB.NEXT] = 0;
  u32[tw + LB.VALUE_LENGTH] = n;
  u32[tw + LB.VALUE_CHECKSUM] = sum;
  u32[tw + LB.KEY_HASH] = h;
  claim.sum = sum;
  claim.keyHash = h;
  if (xxh32Aligned(u32, e.u8, to * C.BLOCK_UNIT + LARGE_HDR, n, h) !== sum) {
    freeUnlinkedLarge(e, to, claim);
    r[3]++;
    return;
  }
  const bw = bucketOf(e, h);
  const lockWord = bw + B.LOCK;
  while (e.locks.acquire(lockWord) === NEED_REPAIR) repairs.repair(e, false);
  let st;
  try {
    // A repair pass since the allocation may have moved everything: an obstacle, and `to` goes
    // back if the pass kept it for this handle (freeUnlinkedLarge).
    if (Atomics.load(u32, GC_COUNTER) !== claim.gc) {
      r[3]++;
      st = 1;
    } else st = relink(e, bw, lu, to, n, sum, above, r);
    if (st !== 0 && st !== MOVED_REPAIR) freeUnlinkedLarge(e, to, claim);
  } finally {
    e.locks.release(lockWord);
  }
  afterFailure(e, st === MOVED_REPAIR ? NEED_REPAIR : st);
}

// Under the bucket lock of the chain from word `bw`: the indirect entry that refers to `lu` (n
// bytes with valueChecksum `sum`) is replaced by a copy that refers to `to`, and both old blocks
// are freed. Returns 0 when it moved, MOVED_REPAIR, or what the caller frees `to` for: 1 (no such
// entry, an entry that is not whole, its checksum or keyHash wrong, or no block for its copy),
// NEED_REPAIR or a damaged list (negative).
function relink(e, bw, lu, to, n, sum, above, r) {
  const u32 = e.u32;
  const h = u32[to * UNIT_WORDS + LB.KEY_HASH];
  let link = 0;
  let u = 0;
  let kl = 0;
  let oldFlags = 0;
  const c = e.chain;
  for (let x = c.from(bw + B.HEAD); x !== 0 && c.atEntry(); x = c.next()) {
    const w = x * UNIT_WORDS;
    kl = chain.keyLengthOf(e, x);
    oldFlags = u32[w + E.FLAGS];
    // The reference is read only where the entry fits its block (as native's RelinkLarge): a
    // damaged key length would read it from the block after, which may name this value.
    if ((oldFlags & C.FLAG_INDIRECT) === 0 || u32[w + E.KEY_HASH] !== h || kl > C.MAX_KEY_BYTES ||
        chain.valueLengthOf(e, x) !== REF_BYTES || !chain.fitsBlock(oldFlags, kl, REF_BYTES)) continue;
    const [ru, rn] = large.refOf(e, x, kl);
    if (ru === lu && rn === n) {
      link = c.link;
      u = x;
      break;
    }
  }
  const lw = lu * UNIT_WORDS;
  // The copy gets a checksum of its own: an entry that is not whole (its checksum wrong under its
  // flags, or its keyHash not its key's) would leave as a valid-looking one, a flipped encoding bit
  // or key byte made part of it. It stays as it is, an obstacle, for readers to take for damage
  // and the repair pass to judge.
  if (link === 0 || u32[lw + LB.FLAGS] !== large.LIVE_LARGE_FLAGS || u32[lw + LB.VALUE_CHECKSUM] !== sum ||
      !refSumMatches(e, u, kl, h, oldFlags) || xxh32(e.u8, chain.keyOffset(u), kl, chain.namespaceOf(e, u)) !== h) {
    r[3]++;
    return 1;
  }
  const cls = classFor(C.ENTRY_HEADER_SIZE + kl + REF_BYTES);
  const d = require('./compact').allocMoveTarget(e, cls, lu, above); // compact.js requires this file
  if (d <= 0) {
    r[3]++;
    return d === 0 ? 1 : d;
  }
  // The copy of the entry: keyHash, lengths, namespaceId, expiresAt, key, the new reference and
  // its checksum, then next and flags (encoding, INDIRECT and the mark kept, d's class).
  const w = u * UNIT_WORDS;
  const dw = d * UNIT_WORDS;
  u32[dw + E.KEY_HASH] = h;
  for (let i = IMMUTABLE_WORD; i < E.WORDS; i++) u32[dw + i] = u32[w + i];
  const koff = chain.keyOffset(d);
  e.u8.copyWithin(koff, chain.keyOffset(u), chain.keyOffset(u) + kl);
  large.writeRef(e, koff + kl, to, n);
  const flags = Atomics.load(u32, w + E.FLAGS);
  u32[dw + E.CHECKSUM] = xxh32Aligned(u32, e.u8, koff, kl + REF_BYTES, (h ^ (flags & C.ENTRY_SUM_FLAGS)) >>> 0);
  Atomics.store(u32, dw + E.NEXT, u32[w + E.NEXT]);
  Atomics.store(u32, dw + E.FLAGS, ((flags & ~CLASS_BITS) | (cls << CLASS_SHIFT)) >>> 0);
  Atomics.store(u32, to * UNIT_WORDS + LB.WRITER, 0); // linked by the store below
  Atomics.store(u32, link, d);
  r[0]++;
  r[1] += large.unitsForLarge(n);
  // The old entry's block and the old large block: not counted in freedUnits (the move took as
  // many). A gone allocator holder leaves them to the repair pass.
  if (e.locks.acquire(ALLOC_LOCK) === NEED_REPAIR) return MOVED_REPAIR;
  push(e, u, chain.classOf(flags));
  // Behind the large list's first blocks, as a moved entry's block: it lies in the window, above
  // every destination of the window's later moves.
  pushLargeBehind(e, lu, u32[FREE_HEAD]);
  e.locks.release(ALLOC_LOCK);
  return 0;
}

module.exports = { moveLarge };
