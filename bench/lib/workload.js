'use strict';
// The reference workload (bench/README.md, "Workload"): keys `key:` + a 10-digit zero-padded
// number (14 ASCII bytes), 100-byte ASCII values, random order from a seeded shuffle. Everything
// here is deterministic for a given seed, so every case (in its own process) sees the same keys
// in the same order.

const KEY_PREFIX = 'key:';
const KEY_DIGITS = 10;
const VALUE_BYTES = 100;

// mulberry32: a small, fast, well-distributed 32-bit PRNG.
function prng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Fisher-Yates over a Uint32Array of 0..n-1 (plus `base`).
function shuffled(n, seed, base = 0) {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = base + i;
  const r = prng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

// One scratch buffer to materialise *flat* strings: Buffer#latin1Slice returns a new sequential
// one-byte string whose hash has not been computed. Used for the stored (reused) keys and the
// values, so that no case pays for flattening a ConsString at insert time that another does not.
const scratch = Buffer.alloc(256);
function flat(s) {
  const n = scratch.write(s, 0, 'latin1');
  return scratch.latin1Slice(0, n);
}

function keyText(n) {
  return KEY_PREFIX + String(n).padStart(KEY_DIGITS, '0');
}

// Flat key strings for the numbers in `order` (the "reused" strings: the very objects inserted).
function flatKeys(order) {
  const out = new Array(order.length);
  for (let i = 0; i < order.length; i++) out[i] = flat(keyText(order[i]));
  return out;
}

// Fresh key strings for the numbers in `order`, built by concatenation just before a timed batch.
// 'key:' + a 10-char string is a V8 ConsString (length >= 13): not flat, no hash computed yet.
// Whatever the store does with it (flatten, hash, encode) happens inside the timed region.
function freshKeys(order) {
  const out = new Array(order.length);
  for (let i = 0; i < order.length; i++) out[i] = KEY_PREFIX + String(order[i]).padStart(KEY_DIGITS, '0');
  return out;
}

// A 100-byte ASCII value for key number n; `variant` makes a different value of the same size.
function valueText(n, variant = 0) {
  const head = `v${variant}:${n}:`;
  let s = head;
  const fill = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let i = (n * 7 + variant * 13) % fill.length;
  while (s.length < VALUE_BYTES) {
    s += fill[i];
    i = (i + 1) % fill.length;
  }
  return flat(s);
}

function values(order, variant) {
  const out = new Array(order.length);
  for (let i = 0; i < order.length; i++) out[i] = valueText(order[i], variant);
  return out;
}

module.exports = {
  KEY_PREFIX, KEY_DIGITS, VALUE_BYTES,
  prng, shuffled, flat, keyText, flatKeys, freshKeys, valueText, values,
};
