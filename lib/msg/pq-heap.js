'use strict';
// The heap of a priority queue region (docs/format.md §15, "Priority queue"): entries of
// (priority, sequence number, node) in a binary heap, the free list (a stack of node numbers)
// and the nodes' state words, which are the truth the other two are derived from. Every function
// here runs with the queue's mutex held; priority-queue.js takes it. `count`, `freeCount`, the heap
// and the free list are read and written only so (format.md §15), with plain accesses: the
// mutex's acquiring and releasing CAS order them, and each Atomics call would be a builtin call
// of its own. The nodes' state stores, the commit points, stay Atomics stores; `count` read
// without the mutex (the queue's size) is an Atomics load.
const { C, S, W } = require('../layout/layout');

const WORD = Uint32Array.BYTES_PER_ELEMENT;
const F64 = Float64Array.BYTES_PER_ELEMENT;
const CTL = C.PQ_CONTROL_OFFSET / WORD;
const COUNT = CTL + W.PQ_CONTROL.COUNT;
const FREE_COUNT = CTL + W.PQ_CONTROL.FREE_COUNT;
const REBUILDS = CTL + W.PQ_CONTROL.REBUILDS;
const ENTRY_WORDS = W.PQ_ENTRY.WORDS;
const ENTRY_SEQ = W.PQ_ENTRY.SEQ;
const ENTRY_NODE = W.PQ_ENTRY.NODE;
const ENTRY_F64 = C.PQ_HEAP_ENTRY_BYTES / F64;
const NODE_STATE = W.PQ_NODE.STATE;
const NODE_SEQ = W.PQ_NODE.SEQ;
const QUEUED = C.PQ_NODE_QUEUED;
const FREE = C.PQ_NODE_FREE;

/** Byte offsets of the parts of a queue of `capacity` nodes of `stride` bytes. */
function partsOf(capacity, stride) {
  const heap = C.PQ_HEAP_OFFSET;
  const free = heap + capacity * C.PQ_HEAP_ENTRY_BYTES;
  const nodes = free + capacity * C.PQ_FREE_ENTRY_BYTES; // capacity is even: stays 8-aligned
  return { heap, free, nodes, end: nodes + capacity * stride };
}

class Heap {
  // `u32` and `f64` view the whole region; `max`: larger priorities first.
  constructor(u32, f64, capacity, stride, max) {
    const p = partsOf(capacity, stride);
    this.u32 = u32;
    this.f64 = f64;
    this.capacity = capacity;
    this.max = max;
    this.heapWord = p.heap / WORD;
    this.heapF64 = p.heap / F64 + S.PQ_ENTRY.PRIORITY / F64;
    this.freeWord = p.free / WORD;
    this.nodeByte = p.nodes;
    this.stride = stride;
  }

  /** The number of entries, as a snapshot read without the mutex. */
  get count() {
    return Atomics.load(this.u32, COUNT);
  }

  /** The number of entries, read with the mutex held. */
  countHeld() {
    return this.u32[COUNT];
  }

  /** The byte offset of node `n` (0-based). */
  nodeAt(n) {
    return this.nodeByte + n * this.stride;
  }

  nodeF64(n) {
    return (this.nodeAt(n) + S.PQ_NODE.PRIORITY) / F64;
  }

  // Whether entry i goes before entry j: by priority, then by sequence number (the earlier
  // enqueue first; seq is a u32 counter, compared as a signed distance).
  #before(i, j) {
    const a = this.f64[this.heapF64 + i * ENTRY_F64];
    const b = this.f64[this.heapF64 + j * ENTRY_F64];
    if (a !== b) return this.max ? a > b : a < b;
    const sa = this.u32[this.heapWord + i * ENTRY_WORDS + ENTRY_SEQ];
    const sb = this.u32[this.heapWord + j * ENTRY_WORDS + ENTRY_SEQ];
    return ((sa - sb) | 0) < 0;
  }

  #swap(i, j) {
    const { u32, f64 } = this;
    const pi = this.heapF64 + i * ENTRY_F64;
    const pj = this.heapF64 + j * ENTRY_F64;
    const p = f64[pi];
    f64[pi] = f64[pj];
    f64[pj] = p;
    const si = this.heapWord + i * ENTRY_WORDS + ENTRY_SEQ;
    const sj = this.heapWord + j * ENTRY_WORDS + ENTRY_SEQ;
    const seq = u32[si];
    u32[si] = u32[sj];
    u32[sj] = seq;
    const ni = this.heapWord + i * ENTRY_WORDS + ENTRY_NODE;
    const nj = this.heapWord + j * ENTRY_WORDS + ENTRY_NODE;
    const node = u32[ni];
    u32[ni] = u32[nj];
    u32[nj] = node;
  }

  #set(i, priority, seq, node) {
    this.f64[this.heapF64 + i * ENTRY_F64] = priority;
    this.u32[this.heapWord + i * ENTRY_WORDS + ENTRY_SEQ] = seq;
    this.u32[this.heapWord + i * ENTRY_WORDS + ENTRY_NODE] = node;
  }

  /**
   * Rebuilds the heap and the free list from the nodes' state words when their counts say what no
   * sound queue says (not every node either queued or free): damage, which the node states
   * outlive. Each operation starts with it.
   */
  heal() {
    if (this.u32[COUNT] + this.u32[FREE_COUNT] !== this.capacity) this.rebuild();
  }

  /**
   * The node of the first entry (count > 0), after rebuilding if the entry names no queued node
   * (damage: the node states say which nodes are queued); -1 when none is left then.
   */
  rootNode() {
    const n = this.u32[this.heapWord + ENTRY_NODE];
    if (n < this.capacity && this.u32[this.nodeAt(n) / WORD + NODE_STATE] === QUEUED) return n;
    this.rebuild();
    return this.u32[COUNT] === 0 ? -1 : this.u32[this.heapWord + ENTRY_NODE];
  }

  /** Takes a free node (one is free when count < capacity), or -1. */
  takeFree() {
    for (;;) {
      const k = this.u32[FREE_COUNT];
      if (k === 0) return -1;
      const top = k - 1;
      const n = this.u32[this.freeWord + top];
      if (n >= this.capacity || this.u32[this.nodeAt(n) / WORD + NODE_STATE] !== FREE) {
        this.rebuild(); // damage: the list names a node that is not free; rebuilt, it does not
        continue;
      }
      this.u32[FREE_COUNT] = top;
      return n;
    }
  }

  /** Adds the entry of node `n`, whose state word was just stored QUEUED. */
  insert(n, priority, seq) {
    let i = this.u32[COUNT];
    this.#set(i, priority, seq, n);
    this.u32[COUNT] = i + 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** Removes the first entry, whose node `n` was just stored FREE, and frees the node. */
  removeRoot(n) {
    const k = this.u32[FREE_COUNT];
    this.u32[this.freeWord + k] = n;
    this.u32[FREE_COUNT] = k + 1;
    const count = this.u32[COUNT] - 1;
    this.u32[COUNT] = count;
    if (count === 0) return;
    this.#swap(0, count);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= count) break;
      const c = l + 1 < count && this.#before(l + 1, l) ? l + 1 : l;
      if (!this.#before(c, i)) break;
      this.#swap(c, i);
      i = c;
    }
  }

  /**
   * Rebuilds the heap and the free list from the nodes' state words: after a holder of the mutex
   * died, they may be half updated, the nodes never are (one store decides a node's state).
   */
  rebuild() {
    const { u32, f64 } = this;
    const queued = [];
    let free = 0;
    for (let n = 0; n < this.capacity; n++) {
      const at = this.nodeAt(n) / WORD;
      if (u32[at + NODE_STATE] === QUEUED) {
        queued.push({ n, priority: f64[this.nodeF64(n)], seq: u32[at + NODE_SEQ] });
      } else {
        u32[at + NODE_STATE] = FREE;
        u32[this.freeWord + free++] = n;
      }
    }
    // A sorted array is a heap.
    const sign = this.max ? -1 : 1;
    queued.sort((a, b) => (a.priority !== b.priority ? sign * (a.priority - b.priority) : (a.seq - b.seq) | 0));
    queued.forEach((e, i) => this.#set(i, e.priority, e.seq, e.n));
    Atomics.store(u32, COUNT, queued.length);
    Atomics.store(u32, FREE_COUNT, free);
    Atomics.add(u32, REBUILDS, 1);
  }

  /** Makes the parts of a new queue: no entries, every node free. */
  init() {
    for (let n = 0; n < this.capacity; n++) {
      this.u32[this.nodeAt(n) / WORD + NODE_STATE] = FREE;
      this.u32[this.freeWord + n] = this.capacity - 1 - n;
    }
    Atomics.store(this.u32, COUNT, 0);
    Atomics.store(this.u32, FREE_COUNT, this.capacity);
  }
}

module.exports = { Heap, partsOf, COUNT, REBUILDS };
