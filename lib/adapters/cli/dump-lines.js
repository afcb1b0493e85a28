'use strict';
// The JSON-lines format of `dump` and `load` (docs/api.md, CLI). Two kinds of line:
//   a namespace's settings: {"ns","eviction","ttl"}   (ttl: default TTL in ms, or null for none)
//   an entry:               {"ns","key","value"|"bytes","expiresAt"?}   (expiresAt: epoch ms)
// A dump writes a namespace's line before its entries. An entry line without `expiresAt` never
// expires; the lines of earlier dumps (entries only, no expiry) are therefore read as they were.
const { CliError, entryRecord, recordValue } = require('./output');

const ENTRY_FIELDS = new Set(['ns', 'key', 'value', 'bytes', 'expiresAt']);
const NAMESPACE_FIELDS = new Set(['ns', 'eviction', 'ttl']);
const EXAMPLE_ENTRY = '{"ns":"n","key":"k","value":"v","expiresAt":1767225600000}';
const EXAMPLE_NAMESPACE = '{"ns":"n","eviction":"clock","ttl":60000}';

/** The line of namespace `ns` with its `namespaceStats` row ({ eviction, ttl }). */
function namespaceLine(ns, { eviction, ttl }) {
  return JSON.stringify({ ns, eviction, ttl: ttl === Infinity ? null : ttl }) + '\n';
}

/** The line of one entry; `expiresAt` is epoch ms or Infinity (no expiry, left out). */
function entryLine(ns, key, value, expiresAt) {
  const r = entryRecord(ns, key, value);
  if (expiresAt !== Infinity) r.expiresAt = expiresAt;
  return JSON.stringify(r) + '\n';
}

/**
 * The absolute expiry of an entry (epoch ms), Infinity when it has none, undefined when it is
 * absent or expired. The store tells the time left, `expiresAt - now` with its own reading of
 * the clock: when the clock reads the same millisecond before and after, that reading was `now`
 * and the sum is exact; otherwise the earliest possible value is taken (never a later expiry).
 */
function absoluteExpiry(store, ns, key) {
  let before;
  let left;
  for (let i = 0; i < 4; i++) {
    before = Date.now();
    left = store.ttl(ns, key);
    if (left === undefined || left === Infinity) return left;
    if (Date.now() === before) break;
  }
  return before + left;
}

const isPlainObject = (r) => r !== null && typeof r === 'object' && !Array.isArray(r);

// Base64 as dump writes it (the standard alphabet), its padding optional. Buffer.from(text,
// 'base64') skips any other character without a word, so a damaged "bytes" would load as other
// bytes: it is checked first. One character class, not groups of four: a test of a value of
// 64 MiB must not run out of the regular expression's backtracking stack.
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
function isBase64(text) {
  if (!BASE64_CHARS.test(text)) return false;
  const data = text.replace(/=+$/, '').length;
  // A last group of one character is no byte; padding, when present, completes the last group.
  return data % 4 !== 1 && (data === text.length || text.length % 4 === 0);
}

function fail(n, what) {
  throw new CliError(`stdin line ${n}: ${what}`);
}

/**
 * One line of a dump, checked in full before anything of it is written:
 * { ns, options: { eviction, ttl } } for a namespace, { ns, key, value, expiresAt } for an entry
 * (expiresAt Infinity when the line has none). Throws a CliError naming line `n`.
 */
function parseLine(line, n) {
  let r;
  try {
    r = JSON.parse(line);
  } catch (err) {
    fail(n, `not JSON (${err.message})`);
  }
  if (!isPlainObject(r) || typeof r.ns !== 'string') {
    fail(n, `expected an entry ${EXAMPLE_ENTRY} or a namespace ${EXAMPLE_NAMESPACE}`);
  }
  if (!('key' in r) && ('eviction' in r || 'ttl' in r)) return namespaceOf(r, n);
  const unknown = Object.keys(r).filter((k) => !ENTRY_FIELDS.has(k));
  // Exactly one of "value" and "bytes", and "bytes" a string: a line with both, or with a
  // "bytes" of another type beside its "value", is not an entry (its bytes would be ignored).
  if (typeof r.key !== 'string' || ('value' in r) === ('bytes' in r) || ('bytes' in r && typeof r.bytes !== 'string') ||
    unknown.length > 0) {
    fail(n, `expected an entry ${EXAMPLE_ENTRY} (with "value", or "bytes" in base64)` +
      (unknown.length > 0 ? `; unknown field "${unknown[0]}"` : ''));
  }
  let expiresAt = Infinity;
  if ('expiresAt' in r) {
    expiresAt = r.expiresAt;
    if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) {
      fail(n, `"expiresAt" must be milliseconds since the Unix epoch (an integer > 0), not ${JSON.stringify(expiresAt)}`);
    }
  }
  if (typeof r.bytes === 'string' && !isBase64(r.bytes)) {
    fail(n, '"bytes" must be base64 (A-Z, a-z, 0-9, "+", "/", "=" padding at the end)');
  }
  return { ns: r.ns, key: r.key, value: recordValue(r), expiresAt };
}

function namespaceOf(r, n) {
  const unknown = Object.keys(r).filter((k) => !NAMESPACE_FIELDS.has(k));
  if (unknown.length > 0) fail(n, `expected a namespace ${EXAMPLE_NAMESPACE}; unknown field "${unknown[0]}"`);
  const options = {};
  if ('eviction' in r) {
    if (typeof r.eviction !== 'string') fail(n, `"eviction" must be a policy name, not ${JSON.stringify(r.eviction)}`);
    options.eviction = r.eviction;
  }
  if ('ttl' in r) {
    if (r.ttl !== null && !(typeof r.ttl === 'number' && r.ttl > 0)) {
      fail(n, `"ttl" must be milliseconds > 0 or null (none), not ${JSON.stringify(r.ttl)}`);
    }
    options.ttl = r.ttl === null ? Infinity : r.ttl;
  }
  return { ns: r.ns, options };
}

module.exports = { namespaceLine, entryLine, absoluteExpiry, parseLine };
