'use strict';
// The store namespaces of the LangGraph adapters are `<prefix>.<part>`; a store namespace name
// is at most C.MAX_NAMESPACE_BYTES UTF-8 bytes, so the prefix leaves room for the longest part.
const v = require('../../base/validate');
const { C } = require('../../layout/layout');

const DEFAULT_PREFIX = 'langgraph';

function prefixOf(prefix, longestPart) {
  if (prefix === undefined) return DEFAULT_PREFIX;
  const max = C.MAX_NAMESPACE_BYTES - Buffer.byteLength(longestPart);
  if (typeof prefix !== 'string') throw v.invalidType('options.prefix', 'a string', prefix);
  const n = Buffer.byteLength(prefix);
  if (n < 1 || n > max) throw v.rangeError(`The "options.prefix" argument must be 1 to ${max} UTF-8 bytes. Received ${n} bytes`);
  return prefix;
}

module.exports = { prefixOf, DEFAULT_PREFIX };
