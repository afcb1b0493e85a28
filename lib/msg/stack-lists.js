'use strict';
// The two lists of a stack region (docs/format.md §15, "Stack"): the stack itself and the list of
// free nodes, both Treiber lists of the same nodes with the same protocol. No payloads, no
// waiting: stack.js drives these.
//
// A list head is a u64 read and CAS'd whole: node index (1-based, 0 = empty) | pending op |
// owner slot | tag << 32. A push or pop is announced by one CAS that leaves the head's index
// where it is (a pop) or on the new node (a push) with the op and the announcer's owner slot
// set; then anyone (the announcer, or any party that meets the announcement) finishes it: moves
// the node's state word to where the node now is, then CASes the head to the plain result with
// the tag + 1. Every other change of a list waits for (helps) that, so a party killed after its
// announcement never wedges the list, and the node it took is recorded as held by its owner slot
// (what lets reclaim() give it back when the owner is gone).
const { C, S, W } = require('../layout/layout');
const codec = require('./codec');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const U64 = BigUint64Array.BYTES_PER_ELEMENT;
const CTL = C.STACK_CONTROL_OFFSET;
const TOP = (CTL + S.STACK_CONTROL.TOP) / U64;
const FREE = (CTL + S.STACK_CONTROL.FREE) / U64;
const SIZE = CTL / WORD + W.STACK_CONTROL.STACKED;
const LOST_PUSHES = CTL / WORD + W.STACK_CONTROL.LOST_PUSHES;
const LOST_POPS = CTL / WORD + W.STACK_CONTROL.LOST_POPS;
const NEXT = W.STACK_NODE.NEXT;
const DEPTH = W.STACK_NODE.DEPTH;
const INDEX_MASK = C.STACK_INDEX_MASK;
const OP_SHIFT = C.STACK_OP_SHIFT;
const OP_MASK = C.STACK_OP_MASK;
const OWNER_SHIFT = C.STACK_OWNER_SHIFT;
const OWNER_MASK = C.STACK_OWNER_MASK;
const PUSH = C.STACK_OP_PUSH;
const POP = C.STACK_OP_POP;
const FREE_NODE = C.STACK_NODE_FREE;
const STACKED = C.STACK_NODE_STACKED;
const PUSHING = C.STACK_NODE_PUSHING;
const POPPED = C.STACK_NODE_POPPED;
const STATE_MASK = C.STACK_NODE_STATE_MASK;
const NODE_OWNER_SHIFT = C.STACK_NODE_OWNER_SHIFT;
const STAMP_SHIFT = C.STACK_NODE_STAMP_SHIFT;
// A head word is moved between its BigInt form (what the u64 atomics take and give) and its two
// u32 halves through this private scratch word, not with BigInt arithmetic: a store into a
// BigUint64Array and a read of one allocate at most one BigInt, where masking and shifting a BigInt
// and building a head from its fields with BigInt arithmetic cost some ten BigInt operations per
// list operation (three times the cost of the rest of its CAS cycle). The halves are little-endian,
// as the segment's words are (format.md §1). Each Atomics call is a builtin call (some 10 to 20 ns
// on Node 20, a BigInt made from the scratch word about as much), so a party's own list operation
// makes only the ones the protocol needs: one load of the head, whose BigInt is the CAS's expected
// value, its announcing CAS, the node's state CAS and the head's CAS (finishOwn()); the node's
// words are read and written with plain accesses between the load and the announcing CAS.
const SCRATCH = new BigUint64Array(1);
const HALVES_PER_HEAD = U64 / WORD;
const HALVES = new Uint32Array(SCRATCH.buffer);

// The u32 indices of the halves of the head at u64 index `at` (little-endian: low, then high).
const lowHalf = (at) => at * HALVES_PER_HEAD;
const highHalf = (at) => lowHalf(at) + 1;

// The two lists: where each head is (`at`, a u64 index; `low` and `high`, the u32 indices of its
// halves), the state of a node on it, the state of a node popped from it, and whether its length
// is counted in `stacked` and in its nodes' depths.
const STACK = Object.freeze({ at: TOP, low: lowHalf(TOP), high: highHalf(TOP), listed: STACKED, taken: POPPED, counted: true });
const FREE_LIST = Object.freeze({ at: FREE, low: lowHalf(FREE), high: highHalf(FREE), listed: FREE_NODE, taken: PUSHING, counted: false });

/** A head word as the BigInt the u64 atomics take: low half `low` (index, op, owner), tag `tag`. */
function headWord(low, tag) {
  HALVES[0] = low;
  HALVES[1] = tag;
  return SCRATCH[0];
}

/** The low half of a head word: node index, pending op, owner slot. */
const lowOf = (index, op, owner) => (index | (op << OP_SHIFT) | (owner << OWNER_SHIFT)) >>> 0;

/** A head word: node index, pending op, owner slot, tag. */
function headOf(index, op, owner, tag) {
  return headWord(lowOf(index, op, owner), tag);
}

/** A node state word: state, owner slot (held states), low 22 bits of a head tag. */
function stateOf(state, owner, tag) {
  return (state | (owner << NODE_OWNER_SHIFT) | (tag << STAMP_SHIFT)) >>> 0;
}

const ownerOfState = (s) => (s >>> NODE_OWNER_SHIFT) & OWNER_MASK;
const isHeld = (s) => (s & STATE_MASK) === PUSHING || (s & STATE_MASK) === POPPED;

// The u32 index of node n's state word (its other words follow it).
const stateIndex = (r, n) => r.base + n * r.strideWords;

// The head that the last first() found with no pending operation, for its caller to use at once,
// before anything else calls first() (size() and Stack.peek(): a result object would be made on
// every call). take() and put(), the operations of every push and pop, keep theirs in locals.
let seenHead = 0n;

/**
 * The index of the first node of `list` (0: empty), finishing a pending operation first; the
 * head it read is left in seenHead (head()).
 */
function first(r, list) {
  for (;;) {
    const h = Atomics.load(r.u64, list.at);
    SCRATCH[0] = h;
    const low = HALVES[0];
    const tag = HALVES[1];
    if (((low >>> OP_SHIFT) & OP_MASK) === 0) {
      const n = low & INDEX_MASK;
      // Checked before anyone acts on it: a node past the capacity is damage, not a node.
      if (n > r.capacity) throw codec.corrupt(`a list head names node ${n}`);
      seenHead = h;
      return n;
    }
    finish(r, list, h, low, tag);
  }
}

/** The head word the last first() read. */
const head = () => seenHead;

/** Whether the head of `list` still holds `h`. */
const unchanged = (r, list, h) => Atomics.load(r.u64, list.at) === h;

/**
 * Finishes the operation announced in head `a` (whose halves are `low` and `tag`) of `list`,
 * unless it is finished already. `r` is { u32, u64, capacity, base, strideWords }.
 */
function finish(r, list, a, low, tag) {
  const u32 = r.u32;
  const n = low & INDEX_MASK;
  const op = (low >>> OP_SHIFT) & OP_MASK;
  const owner = (low >>> OWNER_SHIFT) & OWNER_MASK;
  if (n < 1 || n > r.capacity) throw codec.corrupt(`a list head names node ${n}`);
  const at = stateIndex(r, n);
  const s = Atomics.load(u32, at);
  const next = op === POP ? Atomics.load(u32, at + NEXT) : n;
  // The head is still `a`: it has not changed since `a` was read (its tag only grows), so the
  // node's state is the one the operation started from or the one it ends in, and `next` is the
  // node's link while it is still on the list. Read as its two halves, low first: every change of
  // the head moves its tag, so a tag still equal to a's after the low half matched means no change
  // since `a` was read, and no BigInt is made for the comparison.
  if (Atomics.load(u32, list.low) !== low || Atomics.load(u32, list.high) !== tag) return;
  const target = op === PUSH ? stateOf(list.listed, 0, tag) : stateOf(list.taken, owner, tag);
  if (s !== target) {
    const from = op === PUSH ? isHeld(s) && ownerOfState(s) === owner : (s & STATE_MASK) === list.listed;
    if (!from) throw codec.corrupt(`node ${n} is in state ${s >>> 0} during an operation of owner ${owner}`);
    // Fails only when another party finished this step (or the whole operation) meanwhile.
    Atomics.compareExchange(u32, at, s, target);
  }
  if (Atomics.compareExchange(r.u64, list.at, a, headWord(next, (tag + 1) >>> 0)) === a && list.counted) {
    if (op === PUSH) Atomics.add(u32, SIZE, 1);
    else Atomics.sub(u32, SIZE, 1);
  }
}

/**
 * Finishes the operation this party announced with its CAS to head `mine` (tag `tag`) of `list`:
 * node `n`, by owner `slot`, whose state word read `s` and (a pop) link read `next` between the
 * load of the head it replaced and that CAS. That CAS succeeding proves the head held the loaded
 * value all along (its tag only grows), so those reads are what finish() would read after
 * re-loading the head: a popped node was on the list, where nobody writes its words, and a pushed
 * node was held by `slot`, which writes nothing while it pushes. After the CAS only a finish of
 * this operation changes the node's state or the head, so the steps below either do it or fail
 * because another party did (format.md §15, "Finishing"), and the re-load is not needed.
 */
function finishOwn(r, list, n, op, slot, s, next, mine, tag) {
  const u32 = r.u32;
  const target = op === PUSH ? stateOf(list.listed, 0, tag) : stateOf(list.taken, slot, tag);
  if (s !== target) {
    const from = op === PUSH ? isHeld(s) && ownerOfState(s) === slot : (s & STATE_MASK) === list.listed;
    if (!from) throw codec.corrupt(`node ${n} is in state ${s >>> 0} during an operation of owner ${slot}`);
    Atomics.compareExchange(u32, stateIndex(r, n), s, target);
  }
  if (Atomics.compareExchange(r.u64, list.at, mine, headWord(next, (tag + 1) >>> 0)) === mine && list.counted) {
    if (op === PUSH) Atomics.add(u32, SIZE, 1);
    else Atomics.sub(u32, SIZE, 1);
  }
}

/**
 * Pops the first node of `list` for owner `slot`; returns its index, 0 when the list is empty.
 * The node's state and link are read with plain loads between the Atomics load of the head and
 * the CAS: the load orders them after it, the CAS (a sequentially consistent read-modify-write)
 * before it, and they are used only when the CAS succeeds (finishOwn()).
 */
function take(r, list, slot) {
  const u32 = r.u32;
  for (;;) {
    // first(), in place: its head and tag in locals, not in the module's variables.
    const h = Atomics.load(r.u64, list.at);
    SCRATCH[0] = h;
    const low = HALVES[0];
    const seen = HALVES[1];
    if (((low >>> OP_SHIFT) & OP_MASK) !== 0) {
      finish(r, list, h, low, seen);
      continue;
    }
    const n = low & INDEX_MASK;
    if (n > r.capacity) throw codec.corrupt(`a list head names node ${n}`);
    if (n === 0) return 0;
    const tag = (seen + 1) >>> 0;
    const at = stateIndex(r, n);
    const s = u32[at];
    const next = u32[at + NEXT];
    const mine = headOf(n, POP, slot, tag);
    if (Atomics.compareExchange(r.u64, list.at, h, mine) === h) {
      finishOwn(r, list, n, POP, slot, s, next, mine, tag);
      return n;
    }
  }
}

/**
 * Pushes node `n`, held by owner `slot`, onto `list`. Onto the stack, the node's depth is set to
 * one more than the depth of the node it goes on (1 on an empty stack) before the push is
 * announced: the CAS succeeds only if `top` did not change since it was read, so that node was on
 * the stack all along, and a node's depth, like its `next`, is written only by its holder, never
 * while it is on the stack. The node's words are written and the depth below it read with plain
 * accesses between the Atomics load of the head and the CAS (as in take()); whoever finishes the
 * push loads the head after the CAS, so it reads them as written.
 */
function put(r, list, slot, n) {
  const u32 = r.u32;
  const at = stateIndex(r, n);
  const s = u32[at]; // the node's state: held by `slot`, which alone changes it now
  for (;;) {
    // first(), in place (as in take()).
    const h = Atomics.load(r.u64, list.at);
    SCRATCH[0] = h;
    const low = HALVES[0];
    const seen = HALVES[1];
    if (((low >>> OP_SHIFT) & OP_MASK) !== 0) {
      finish(r, list, h, low, seen);
      continue;
    }
    const top = low & INDEX_MASK;
    if (top > r.capacity) throw codec.corrupt(`a list head names node ${top}`);
    const tag = (seen + 1) >>> 0;
    u32[at + NEXT] = top;
    if (list.counted) u32[at + DEPTH] = top === 0 ? 1 : u32[stateIndex(r, top) + DEPTH] + 1;
    const mine = headOf(n, PUSH, slot, tag);
    if (Atomics.compareExchange(r.u64, list.at, h, mine) === h) {
      finishOwn(r, list, n, PUSH, slot, s, n, mine, tag);
      return;
    }
  }
}

/**
 * Gives every node held by an owner that is gone (by `isGone(o)`) back to the free list, counting
 * it lost (`lostPushes` for a node taken to be pushed, `lostPops` for a node popped). `slot` is
 * the caller's owner slot; the caller holds no node, so a node held by `slot` is one its previous
 * owner left (the caller adopted the slot of a gone owner) and is taken back too. Returns how
 * many nodes it took back.
 */
function reclaim(r, slot, isGone) {
  // Owners found live, whose nodes the rest of the pass leaves alone (one that ends meanwhile has
  // its nodes taken back by the next pass). A gone verdict is not kept: it holds for the node
  // whose state was read before it, which the CAS below checks is unchanged, but the owner may
  // have released its slot in order (the slot then reads as gone) and a new party claimed it and
  // taken nodes since, which a kept verdict would take from that live party.
  const live = new Set();
  let taken = 0;
  for (let n = 1; n <= r.capacity; n++) {
    const at = stateIndex(r, n);
    const s = Atomics.load(r.u32, at);
    if (!isHeld(s)) continue;
    const o = ownerOfState(s);
    if (o !== slot) {
      if (live.has(o)) continue;
      if (!isGone(o)) {
        live.add(o);
        continue;
      }
    }
    // An operation the gone owner announced before it died is finished first: a node it was
    // pushing is then on a list, and the CAS below, from the state read before, fails.
    first(r, STACK);
    first(r, FREE_LIST);
    // The new state differs from `s` (stamp + 1) even when `o` is the caller's slot, so that of
    // two parties taking the same node back, only one CAS succeeds.
    const state = s & STATE_MASK;
    if (Atomics.compareExchange(r.u32, at, s, stateOf(state, slot, (s >>> STAMP_SHIFT) + 1)) !== s) continue;
    Atomics.add(r.u32, state === PUSHING ? LOST_PUSHES : LOST_POPS, 1);
    put(r, FREE_LIST, slot, n);
    taken++;
  }
  return taken;
}

/**
 * How many messages are on the stack: the depth of its top node (0 when it is empty), read in
 * constant time rather than from `stacked`, which a party killed between finishing a change of
 * `top` and moving the count leaves one off for good (format.md §15, "Finishing"). The depth is
 * kept if `top` still holds the same head word after it was read: every change of `top` moves its
 * tag, and nobody writes the depth of a node while it is on the stack, so it is the number of
 * messages at the instant `top` was read (a snapshot, exact while others push and pop too). A
 * head that changed meanwhile is read again: each retry means another party changed the stack.
 */
function size(r) {
  for (;;) {
    const n = first(r, STACK);
    if (n === 0) return 0;
    const h = seenHead;
    const depth = Atomics.load(r.u32, stateIndex(r, n) + DEPTH);
    if (Atomics.load(r.u64, STACK.at) !== h) continue; // changed under the read
    // More messages than nodes, or none under a top node: damage, not a count.
    if (depth < 1 || depth > r.capacity) throw codec.corrupt(`the top node ${n} of the stack has depth ${depth}`);
    return depth;
  }
}

/** Makes the lists of a new region: the stack empty, every node on the free list in order. */
function init(r) {
  for (let n = 1; n <= r.capacity; n++) {
    const at = stateIndex(r, n);
    Atomics.store(r.u32, at, stateOf(FREE_NODE, 0, 0));
    Atomics.store(r.u32, at + NEXT, n < r.capacity ? n + 1 : 0);
    Atomics.store(r.u32, at + DEPTH, 0);
  }
  Atomics.store(r.u64, TOP, headOf(0, 0, 0, 0));
  Atomics.store(r.u64, FREE, headOf(1, 0, 0, 0));
}

module.exports = {
  STACK, FREE_LIST, SIZE, LOST_PUSHES, LOST_POPS, first, head, unchanged, stateIndex, take, put, reclaim,
  size, init,
};
