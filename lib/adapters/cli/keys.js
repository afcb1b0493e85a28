'use strict';
// `shmstore keys <store> <ns> [--prefix p]`.
const { EXIT, CliError, write } = require('./output');
const { targetOf, withStore } = require('./target');

// A key that could not be read back from its line as it is: one with a control character (a
// newline would split it over lines, a carriage return or an escape sequence would redraw a
// terminal) or a line or paragraph separator; one beginning with '"', which would read as
// the quoted form of another key; and the empty key, an empty line.
// (\p{Cc} is U+0000 to U+001F, U+007F to U+009F: the C0 controls, DEL and the C1 controls, U+0085
// among them.)
const NEEDS_QUOTES = /^$|^"|[\p{Cc}\u2028\u2029]/u;
// What JSON.stringify leaves as it is but a line must not hold raw: DEL, the C1 controls and the
// separators.
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * The line of one key in the text listing: the key as it is, or, when NEEDS_QUOTES, its JSON
 * string (JSON.parse of the line gives the key back), with every character of RAW_IN_JSON as a
 * \u escape.
 */
function keyLine(key) {
  if (!NEEDS_QUOTES.test(key)) return key;
  return JSON.stringify(key).replace(RAW_IN_JSON, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

module.exports = {
  usage: 'keys <store> <ns> [--prefix <p>] [--path] [--json]',
  summary: 'list the keys of a namespace, one a line (--json: a JSON array)',
  help: 'A key is printed as it is, unless it is empty, begins with \'"\' or holds a control character\n' +
    '(a newline, a tab, an escape, DEL, U+0080 to U+009F) or a line separator (U+2028, U+2029): such a\n' +
    'key is printed as a JSON string ("line\\nbreak"), on one line, which JSON.parse turns back into the key.',
  run({ positional: [store, ns], flags }) {
    if (ns === undefined) throw new CliError('keys needs <store> <ns> (see --help)');
    const prefix = flags.prefix === undefined ? '' : flags.prefix;
    return withStore(targetOf(store, flags), {}, async (s) => {
      const keys = s.keys(ns).filter((k) => k.startsWith(prefix));
      if (flags.json) await write(JSON.stringify(keys) + '\n');
      else for (const k of keys) await write(keyLine(k) + '\n');
      return EXIT.OK;
    });
  },
};
