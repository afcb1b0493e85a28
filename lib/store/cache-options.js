'use strict';
// The cache options of the public Store API (docs/api.md, "Expiry and eviction"): `ttl` and
// `expiresAt` of set/setMany, `eviction` of Store.create and of store.namespace(), `ttl` of a
// namespace; validated here and turned into the engine's arguments (lib/store/contract.js).
const v = require('../base/validate');
const { C } = require('../layout/layout');

const { typeError, rangeError } = v;

// The engine's expiry argument: 0 takes the namespace's default TTL, -1 stores no expiry, any
// other value is the expiry in milliseconds since the Unix epoch.
const EXPIRY_DEFAULT = 0;
const EXPIRY_NEVER = -1;
const MAX_MS = Number.MAX_SAFE_INTEGER;
const SET_KEYS = ['ttl', 'expiresAt'];

// Eviction policy names. 'auto' is the recommended policy (CLOCK, see format.md §8 and the
// eviction benchmark); 'none' pins (never evicted).
const POLICIES = { none: C.POLICY_NONE, auto: C.POLICY_CLOCK, clock: C.POLICY_CLOCK };
const POLICY_NAMES = { [C.POLICY_NONE]: 'none', [C.POLICY_CLOCK]: 'clock' };

function policyOf(name, what) {
  if (typeof name !== 'string') throw v.invalidType(what, 'of type string', name);
  const p = POLICIES[name];
  if (p === undefined || !Object.hasOwn(POLICIES, name)) {
    throw rangeError(`The "${what}" argument must be one of ${Object.keys(POLICIES).map((k) => `'${k}'`).join(', ')}. Received ${v.describe(name)}`);
  }
  return p;
}

// A TTL in ms: a positive number (rounded up to whole ms) or Infinity (no expiry, returned as 0).
function ttlMsOf(ttl, what) {
  if (typeof ttl !== 'number') throw v.invalidType(what, 'of type number', ttl);
  if (ttl === Infinity) return 0;
  if (!(ttl > 0) || ttl > MAX_MS) {
    throw rangeError(`The "${what}" argument must be a number of milliseconds > 0 and <= 2^53 - 1, or Infinity. Received ${v.describe(ttl)}`);
  }
  return Math.ceil(ttl);
}

// The engine's expiry argument for the options of one set (undefined: the namespace default).
// An expiry already past is returned as is: the caller deletes instead of writing.
function expiryOf(opts) {
  if (opts === undefined) return EXPIRY_DEFAULT;
  v.validateObject(opts, 'options');
  v.validateKeys(opts, 'options', SET_KEYS);
  const { ttl, expiresAt } = opts;
  if (ttl !== undefined && expiresAt !== undefined) {
    throw typeError('Only one of "options.ttl" and "options.expiresAt" may be given');
  }
  if (ttl !== undefined) {
    const ms = ttlMsOf(ttl, 'options.ttl');
    if (ms === 0) return EXPIRY_NEVER;
    const at = Date.now() + ms;
    if (at > MAX_MS) throw rangeError(`The "options.ttl" argument puts the expiry beyond 2^53 - 1 ms. Received ${ttl}`);
    return at;
  }
  if (expiresAt !== undefined) {
    if (typeof expiresAt !== 'number') throw v.invalidType('options.expiresAt', 'of type number', expiresAt);
    if (expiresAt === Infinity) return EXPIRY_NEVER;
    if (!(expiresAt > 0) || expiresAt > MAX_MS) {
      throw rangeError(`The "options.expiresAt" argument must be epoch milliseconds > 0 and <= 2^53 - 1, or Infinity. Received ${v.describe(expiresAt)}`);
    }
    return Math.ceil(expiresAt);
  }
  return EXPIRY_DEFAULT;
}

// Whether an engine expiry argument is an absolute expiry that has already passed.
const alreadyExpired = (expiry) => expiry > 0 && expiry <= Date.now();

// The options of store.namespace(name, { ttl, eviction }): [policy or -1, ttlMs or -1] (-1:
// leave as it is), or null when there are none.
function namespaceConfigOf(opts) {
  if (opts === undefined) return null;
  v.validateObject(opts, 'options');
  v.validateKeys(opts, 'options', ['ttl', 'eviction']);
  const policy = opts.eviction === undefined ? -1 : policyOf(opts.eviction, 'options.eviction');
  const ttl = opts.ttl === undefined ? -1 : ttlMsOf(opts.ttl, 'options.ttl');
  return policy === -1 && ttl === -1 ? null : [policy, ttl];
}

// ms remaining from an engine's expiresAt() result: undefined (absent or expired), Infinity.
function remainingOf(expiresAt) {
  if (expiresAt < 0) return undefined;
  if (expiresAt === 0) return Infinity;
  const left = expiresAt - Date.now();
  return left > 0 ? left : undefined;
}

module.exports = {
  EXPIRY_DEFAULT, EXPIRY_NEVER, POLICY_NAMES, policyOf, ttlMsOf, expiryOf, alreadyExpired,
  namespaceConfigOf, remainingOf,
};
