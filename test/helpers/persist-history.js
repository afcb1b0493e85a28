'use strict';
// The seeded history of test/55-persist/damage-fuzz.test.js: writes drawn at random on a
// persisted store (sets with and without an expiry, setMany, deletes, clears, namespace drops and
// default TTLs), checkpoints and backups among them, and the state the store must show after each
// write. A state is what a reader sees: every live entry's namespace, key, value and whether it
// expires (empty namespaces are not part of it: a snapshot holds entries, not empty names).
// Recovery may cut the log at its last good record, so a recovered store is compared with every
// prefix of the history, never with values taken from anywhere else.

const NAMESPACES = ['a', 'b', 'ns-c'];
const KEYS = 10;
// Long enough that no entry expires while a seed runs: an expiry is checked, not waited for.
const LONG_TTL = 3600e3;
// How far an entry's expiry read back (now + ttl) may lie outside the instants of its set.
const TTL_SLACK_MS = 5;

// A value of one of the three encodings, now and then a few kilobytes (several log pages).
function valueOf(pick, step) {
  const n = pick(4);
  if (n === 0) return { step, list: [step, `s${pick(100)}`] };
  if (n === 1) return Buffer.from(`b${step}:${'z'.repeat(pick(80))}`);
  if (pick(12) === 0) return `L${step}:${'x'.repeat(2000 + pick(6000))}`;
  return `v${step}:${'y'.repeat(pick(60))}`;
}

// The text a value is compared by: its type and its bytes.
function canonValue(value) {
  if (Buffer.isBuffer(value)) return `b${value.toString('hex')}`;
  if (typeof value === 'string') return `s${value}`;
  return `j${JSON.stringify(value)}`;
}

// The text of a state (a Map of 'ns\0key' → { value, expires }), the same for equal states.
function canonState(entries) {
  return [...entries].map(([k, e]) => `${k}\0${e.value}\0${e.expires === null ? 0 : 1}`).sort().join('\n');
}

/** The state `store` shows: a Map of 'ns\0key' → { value, expires: [lo, hi] read back | null }. */
function readState(store) {
  const out = new Map();
  for (const ns of store.namespaces()) {
    for (const [key, value] of store.entries(ns)) {
      const before = Date.now();
      const ttl = store.ttl(ns, key);
      out.set(`${ns}\0${key}`, { value: canonValue(value), expires: ttl === Infinity ? null : [before + ttl, Date.now() + ttl] });
    }
  }
  return out;
}

/**
 * Runs `steps` random steps of seed `pick` on `store`, with `backup()` and `checkpoint()` called
 * when drawn. Returns { states, entries, backups }: the canonical state after each write
 * (states[0] the empty store), the entries of each (for their expiries) and the index into
 * states of each backup taken.
 */
function runHistory(store, pick, steps, { backup }) {
  const entries = new Map();
  const nsTtl = new Map(); // a namespace's default TTL, when it has one
  const states = [canonState(entries)];
  const snapshots = [new Map()];
  const backups = [];
  const took = () => {
    states.push(canonState(entries));
    snapshots.push(new Map(entries));
  };
  // A set's expiry: its option's, else its namespace's default, as the interval of its instants.
  const put = (ns, key, value, opts, before) => {
    const after = Date.now();
    const id = `${ns}\0${key}`;
    let ttl = nsTtl.get(ns);
    if (opts && opts.ttl !== undefined) ttl = opts.ttl;
    if (opts && opts.expiresAt !== undefined) {
      entries.delete(id); // an expiry already past: the value is gone, and so is the one it replaced
      return;
    }
    entries.set(id, { value: canonValue(value), expires: ttl === undefined || ttl === Infinity ? null : [before + ttl, after + ttl] });
  };
  for (let step = 0; step < steps; step++) {
    const ns = NAMESPACES[pick(NAMESPACES.length)];
    const key = `k${pick(KEYS)}`;
    const r = pick(100);
    if (r < 45) {
      const o = pick(20);
      const opts = o < 13 ? undefined : o < 16 ? { ttl: LONG_TTL } : o < 18 ? { ttl: Infinity } : { expiresAt: Date.now() - 1000 };
      const value = valueOf(pick, step);
      const before = Date.now();
      store.set(ns, key, value, opts);
      put(ns, key, value, opts, before);
    } else if (r < 52) {
      const pairs = [];
      for (let i = 1 + pick(4); i > 0; i--) pairs.push([`k${pick(KEYS)}`, valueOf(pick, step)]);
      const before = Date.now();
      store.setMany(ns, pairs);
      // One record per pair: a cut may fall between them, so each pair is a step of its own.
      for (const [k, value] of pairs.slice(0, -1)) {
        put(ns, k, value, undefined, before);
        took();
      }
      put(ns, pairs.at(-1)[0], pairs.at(-1)[1], undefined, before);
    } else if (r < 72) {
      store.delete(ns, key);
      entries.delete(`${ns}\0${key}`);
    } else if (r < 76) {
      store.clear(ns);
      for (const id of [...entries.keys()]) if (id.startsWith(`${ns}\0`)) entries.delete(id);
    } else if (r < 80) {
      store.dropNamespace(ns);
      for (const id of [...entries.keys()]) if (id.startsWith(`${ns}\0`)) entries.delete(id);
      nsTtl.delete(ns);
    } else if (r < 85) {
      // A default TTL for the sets that follow (a namespace settings record); Infinity: none.
      const ttl = pick(2) === 0 ? LONG_TTL : Infinity;
      store.namespace(ns, { ttl });
      if (ttl === Infinity) nsTtl.delete(ns);
      else nsTtl.set(ns, ttl);
      continue; // entries unchanged: no new state
    } else if (r < 92) {
      store.checkpoint();
      continue;
    } else {
      backup();
      backups.push(states.length - 1);
      continue;
    }
    took();
  }
  return { states, snapshots, backups };
}

/**
 * The index of the history's state equal to `seen` (readState()), or -1; a match must also have
 * each expiring entry's expiry within the instants of its set.
 */
function matchPrefix(history, seen) {
  const text = canonState(seen);
  for (let i = history.states.length - 1; i >= 0; i--) {
    if (history.states[i] !== text) continue;
    const want = history.snapshots[i];
    const ok = [...seen].every(([id, e]) => e.expires === null ||
      (e.expires[1] >= want.get(id).expires[0] - TTL_SLACK_MS && e.expires[0] <= want.get(id).expires[1] + TTL_SLACK_MS));
    if (ok) return i;
  }
  return -1;
}

module.exports = { runHistory, readState, matchPrefix, canonState };
