'use strict';
// The `groups` word of a condition region (docs/format.md §13.2): a u64 read and CAS'd whole that
// holds the two groups of waiters. The open group is every waiter registered since the groups
// last moved on; the closed group every waiter registered before that and not yet gone; `tokens`
// are notifies handed to the closed group and not yet taken, never more than its members. The
// epoch is the open group's: a waiter that registered under epoch e is open while the epoch is
// e, closed while it is e + 1, and let go once it is e + 2 or later (wrapping, 24 bits).
//
// The functions below compute the next value of the word (null: no change) from its fields; the
// caller CASes it. The fields are read and the word built through a private scratch word, its two
// u32 halves, rather than with BigInt arithmetic (as the stack's list heads, lib/msg).
const { C } = require('../layout/layout');

const CLOSED_SHIFT = C.SYNC_COND_CLOSED_SHIFT;
const COUNT_MASK = C.SYNC_COND_COUNT_MASK;
const TOKENS_MASK = C.SYNC_COND_TOKENS_MASK;
const EPOCH_SHIFT = C.SYNC_COND_EPOCH_SHIFT;
const EPOCH_MASK = C.SYNC_COND_EPOCH_MASK;
const SCRATCH = new BigUint64Array(1);
const HALVES = new Uint32Array(SCRATCH.buffer); // little-endian, as the region's words (§1)

/** The fields of groups word `h` (a BigInt): { h, open, closed, tokens, epoch }. */
function fieldsOf(h) {
  SCRATCH[0] = h;
  const low = HALVES[0];
  const high = HALVES[1];
  return { h, open: low & COUNT_MASK, closed: low >>> CLOSED_SHIFT, tokens: high & TOKENS_MASK, epoch: high >>> EPOCH_SHIFT };
}

/** The groups word of fields `g` (the epoch taken modulo 2^24). */
function wordOf(g) {
  HALVES[0] = g.open | (g.closed << CLOSED_SHIFT);
  HALVES[1] = g.tokens | ((g.epoch & EPOCH_MASK) << EPOCH_SHIFT);
  return SCRATCH[0];
}

/** CASes the word at `at` from the value `g` was read from to fields `n`; whether it did. */
const cas = (u64, at, g, n) => Atomics.compareExchange(u64, at, g.h, wordOf(n)) === g.h;

/**
 * Changes the groups word at u64 index `at` of `u64` by `step(fields)`, which returns the next
 * fields or null (no change), retrying while the CAS fails. Returns [before, after] (after
 * null when nothing changed).
 */
function update(u64, at, step) {
  for (;;) {
    const g = fieldsOf(Atomics.load(u64, at));
    const n = step(g);
    if (n === null) return [g, null];
    if (cas(u64, at, g, n)) return [g, n];
  }
}

/** The fields of the word at `at`. */
const load = (u64, at) => fieldsOf(Atomics.load(u64, at));

/** Whether the epoch moved from `g` to `n` (every waiter should look again). */
const moved = (g, n) => n !== null && n.epoch !== g.epoch;

/** How many moves of the groups a waiter registered under `epoch` has seen: 0 open, 1 closed. */
const age = (g, epoch) => (g.epoch - epoch) & EPOCH_MASK;

// Moves the groups on: the closed group is let go (every member of it goes), the open group
// becomes the closed group with `tokens` of its own (at most one per member).
function moveOn(g, tokens) {
  return { open: 0, closed: g.open, tokens: Math.min(tokens, g.open, TOKENS_MASK), epoch: g.epoch + 1 };
}

// Every waiter goes: both groups are let go.
const letAllGo = (g) => ({ open: 0, closed: 0, tokens: 0, epoch: g.epoch + 2 });

/** A waiter registers in the open group; a full open group first lets every waiter go. */
const register = (g) => (g.open < COUNT_MASK ? { ...g, open: g.open + 1 } : { ...letAllGo(g), open: 1 });

/** notifyAll(): every waiter registered now goes (nothing when none is). */
const notifyAll = (g) => (g.open + g.closed === 0 ? null : letAllGo(g));

/**
 * notifyOne(): a token to the closed group while a member of it has none; else, the closed group
 * being all signalled, the groups move on and the token goes to the new closed group (the waiters
 * registered until now); else nobody waits without a token: nothing. 255 tokens not yet taken
 * let the whole closed group go instead.
 */
function notifyOne(g) {
  if (g.closed > g.tokens && g.tokens < TOKENS_MASK) return { ...g, tokens: g.tokens + 1 };
  if (g.open > 0 || g.closed > g.tokens) return moveOn(g, 1);
  return null;
}

/** A closed member takes a token and goes. */
const take = (g) => ({ ...g, tokens: g.tokens - 1, closed: Math.max(g.closed - 1, 0) });

/**
 * A waiter leaves without a token (it gave up): it leaves its group. When the closed members left
 * are fewer than the tokens (each has one), they go, and the token left over goes to the open
 * group, whose members registered before the notify that gave it or are let go spuriously.
 */
function leave(g, epoch) {
  const a = age(g, epoch);
  if (a === 0) return { ...g, open: Math.max(g.open - 1, 0) };
  if (a !== 1) return null;
  const closed = Math.max(g.closed - 1, 0);
  return g.tokens > closed ? moveOn(g, g.tokens - closed) : { ...g, closed };
}

/**
 * An open member found the closed group with tokens and unchanged since its previous check (50 ms
 * before): nobody takes them (their members died, or are slow). The closed group goes, and the
 * tokens pass to the open group.
 */
const expire = (g) => moveOn(g, g.tokens);

/** Whether the closed group of `g` (its epoch, members and tokens) is exactly as in `seen`. */
const sameClosed = (seen, g) => seen !== null && seen.epoch === g.epoch && seen.closed === g.closed && seen.tokens === g.tokens;

module.exports = { update, cas, load, moved, age, register, notifyAll, notifyOne, take, leave, expire, sameClosed };
