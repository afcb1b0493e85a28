'use strict';
// Namespaces of the pure-JS engine (docs/format.md §5): lookup by name without a lock (a live
// record never changes), creation under NsState.lock.
const { C, S, STATUS } = require('../layout');
const { NEED_REPAIR } = require('./locks');
const maintenance = require('./maintenance');

const NS_BASE = C.NAMESPACES_OFFSET >> 2;
const NS_LOCK = (C.NSSTATE_OFFSET + S.NS_STATE.LOCK) >> 2;
const NS_LIVE = (C.NSSTATE_OFFSET + S.NS_STATE.LIVE_COUNT) >> 2;

// Returns the id of namespace `name`, 0 when absent (and create is false), or -status.
function resolve(e, name, create) {
  const kl = e.utf8Into(name, C.MAX_NAMESPACE_BYTES);
  if (kl <= 0) return -STATUS.ERR_INVALID_ARG;
  let id = findNamespace(e, kl);
  if (id || !create) return id;
  for (;;) {
    if (e.locks.acquire(NS_LOCK) === NEED_REPAIR) {
      maintenance.repair(e, false);
      continue;
    }
    break;
  }
  id = findNamespace(e, kl);
  if (!id) {
    id = -STATUS.ERR_TOO_MANY_NAMESPACES;
    for (let i = 1; i < C.NAMESPACE_SLOTS; i++) {
      const w = NS_BASE + i * 16;
      // Any state but live is reusable (format.md §5), and the record starts afresh: a count
      // left by a creator that died, or by damage, must not become the new namespace's.
      if (Atomics.load(e.u32, w) === C.NS_STATE_LIVE) continue;
      e.u32[w + 2] = kl;
      e.u32[w + 3] = 0;
      const off = w * 4 + S.NAMESPACE.NAME;
      e.u8.fill(0, off, off + C.MAX_NAMESPACE_BYTES);
      e.u8.set(e.kb.subarray(0, kl), off);
      Atomics.store(e.u32, w + 1, 0);
      Atomics.store(e.u32, w, C.NS_STATE_LIVE);
      Atomics.add(e.u32, NS_LIVE, 1);
      id = i;
      break;
    }
  }
  e.locks.release(NS_LOCK);
  return id;
}

function findNamespace(e, kl) {
  const { u8, u32, kb } = e;
  for (let i = 1; i < C.NAMESPACE_SLOTS; i++) {
    const w = NS_BASE + i * 16;
    if (Atomics.load(u32, w) !== C.NS_STATE_LIVE || u32[w + 2] !== kl) continue;
    const off = w * 4 + S.NAMESPACE.NAME;
    let j = 0;
    while (j < kl && u8[off + j] === kb[j]) j++;
    if (j === kl) return i;
  }
  return 0;
}

function list(e) {
  const out = [];
  for (let i = 1; i < C.NAMESPACE_SLOTS; i++) {
    const w = NS_BASE + i * 16;
    if (Atomics.load(e.u32, w) !== C.NS_STATE_LIVE) continue;
    const off = w * 4 + S.NAMESPACE.NAME;
    const len = Math.min(e.u32[w + 2], C.MAX_NAMESPACE_BYTES);
    const name = Buffer.from(e.u8.slice(off, off + len)).toString('utf8');
    out.push([name, i, Atomics.load(e.u32, w + 1)]);
  }
  return out;
}

module.exports = { resolve, list };
