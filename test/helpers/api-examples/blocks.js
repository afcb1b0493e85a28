'use strict';
// The ```js blocks of docs/api.md as its examples test (test/00-repo/api-examples.test.js) runs
// them: the document read into blocks, the test's tables matched to the blocks, and a block made
// into the body of an async function.
//
// A block's body. A trailing comment that is a value (`// → [1, 2, undefined]`, `// 8512`,
// `// false`) is compared with the value of its line (a declaration's initialiser, console.log's
// argument, an expression statement); `// throws ShmError ERR_X` expects that error. A `// →`
// comment that is not a value needs a check in CLAIMS (tables.js), and every checked line must be
// reached. Segment names get a prefix of the section's own, and every string that is an absolute
// path becomes a path in the section's temporary directory, so that runs never meet. The body
// returns the names the block declares at its top level, which the later blocks of the section
// have in scope.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { SKIP, NOT_SEGMENT_NAMES, CLAIMS } = require('./tables');
const { ADJUST } = require('./adjust');
const { SECTIONS } = require('./preludes');

const ROOT = path.join(__dirname, '..', '..', '..');
const DOC = 'docs/api.md';

// ---------------------------------------------------------------------------------------------
// The blocks.

/** The ```js blocks of the document: { index, line (of its first code line), section, lines }. */
function readBlocks() {
  const text = fs.readFileSync(path.join(ROOT, DOC), 'utf8').split('\n');
  const blocks = [];
  let section = '';
  let open = null;
  text.forEach((line, i) => {
    if (open === null) {
      if (/^## /.test(line)) section = line.slice(3).trim();
      const m = /^\s*```(\S*)\s*$/.exec(line);
      if (m) open = { lang: m[1], line: i + 2, lines: [] };
    } else if (/^\s*```\s*$/.test(line)) {
      if (open.lang === 'js') blocks.push({ index: blocks.length, line: open.line, section, lines: open.lines });
      open = null;
    } else {
      open.lines.push(line);
    }
  });
  return blocks;
}

const BLOCKS = readBlocks();
const where = (block, i = 0) => `${DOC}:${block.line + i}`;

/** The programs of a block, each starting at one of the marker lines (the first at the top). */
function partsOf(block, markers) {
  const starts = [0, ...block.lines.map((l, i) => (markers.includes(l.trim()) ? i : -1)).filter((i) => i > 0)];
  return starts.map((start, k) => ({ ...block, line: block.line + start, lines: block.lines.slice(start, starts[k + 1]) }));
}

// ---------------------------------------------------------------------------------------------
// Reading a block.

/** [code, comment] of a line: the comment is the text after a `//` outside strings, or null. */
function splitComment(text) {
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '\'' || c === '"' || c === '`') {
      quote = c;
    } else if (c === '/' && text[i + 1] === '/') {
      return [text.slice(0, i).trimEnd(), text.slice(i + 2).trim()];
    }
  }
  return [text, null];
}

const LITERAL_WORDS = new Set(['true', 'false', 'null', 'undefined', 'Infinity', 'NaN']);

/**
 * The value a comment states, as { value }, or null when it is prose. A value is a literal:
 * numbers, strings, arrays and objects of them; any other word (outside strings, and not a key)
 * makes it prose, so that no comment is ever run as code.
 */
function statedValue(comment) {
  const text = comment.replace(/^→\s*/, '');
  const bare = text.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, '\'\'');
  if (/[`()=;]/.test(bare)) return null;
  for (const m of bare.matchAll(/[A-Za-z_$][\w$]*/g)) {
    if (!LITERAL_WORDS.has(m[0]) && !/^\s*:/.test(bare.slice(m.index + m[0].length))) return null;
  }
  try {
    return { value: new Function(`'use strict'; return (${text});`)() };
  } catch {
    return null;
  }
}

/**
 * The line with its stated result checked: the value of the line goes through __claim(i, ...),
 * or the statement through __throws(i, ...). claims[i] gets the check.
 */
function claimLine(block, i, claims) {
  const text = block.lines[i];
  const [code, comment] = splitComment(text);
  if (comment === null || code.trim() === '') return text;
  const explicit = CLAIMS_BY_LINE.get(text.trim());
  const throws = /^throws (\w+) (ERR_\w+)$/.exec(comment);
  let check;
  if (explicit) check = explicit.check;
  else if (throws) check = { name: throws[1], code: throws[2] };
  else {
    const stated = statedValue(comment);
    if (stated) check = (v) => assert.deepStrictEqual(v, stated.value);
    else if (comment.startsWith('→')) throw new Error(`${where(block, i)}: the comment "${comment}" is not a value: give the line a check in CLAIMS`);
    else return text;
  }
  const id = claims.push({ check, at: where(block, i), reached: false }) - 1;
  const indent = /^\s*/.exec(code)[0];
  const stmt = code.trim();
  if (typeof check === 'object') return `${indent}await __throws(${id}, async () => { ${stmt} });`;
  let m;
  if ((m = /^((?:const|let)\s+[^=]+?\s*=\s*)(.+);$/.exec(stmt))) return `${indent}${m[1]}__claim(${id}, (${m[2]}));`;
  if ((m = /^console\.log\((.+)\);$/.exec(stmt))) return `${indent}console.log(__claim(${id}, (${m[1]})));`;
  if ((m = /^(.+);$/.exec(stmt))) return `${indent}__claim(${id}, (${m[1]}));`;
  throw new Error(`${where(block, i)}: a checked comment on a line that is not one statement`);
}

/**
 * The names the block declares at its top level (a line that starts with const, let or var),
 * and those of them bound by destructuring a require() of a module, as { name, from }.
 */
function declaredNames(block) {
  const names = [];
  const required = [];
  block.lines.forEach((text, i) => {
    if (!/^(?:const|let|var)\s/.test(text)) return;
    const rest = block.lines.slice(i).join('\n');
    const m = /^(?:const|let|var)\s+([{[][\s\S]*?[}\]]|[\w$]+)\s*(?:=\s*require\('([^']+)'\))?/.exec(rest);
    assert.ok(m, `${where(block, i)}: a declaration the test cannot read`);
    const pattern = m[1];
    const found = /^[\w$]+$/.test(pattern)
      ? [pattern]
      : pattern.slice(1, -1).split(',').map((p) => p.trim()).filter(Boolean)
        .map((p) => (p.includes(':') ? p.split(':')[1].trim() : p.replace(/^\.\.\./, '')));
    for (const n of found) assert.match(n, /^[\w$]+$/, `${where(block, i)}: a declaration the test cannot read`);
    names.push(...found);
    if (m[2] && pattern.startsWith('{')) required.push(...found.map((name) => ({ name, from: m[2] })));
  });
  return { names: [...new Set(names)], required };
}

/** Every `name: '...'` a segment name of the section; every absolute path one in its directory. */
function localise(code, ctx) {
  return code
    .replace(/\bname: '([^'\\]*)'/g, (all, name) => (NOT_SEGMENT_NAMES.has(name) ? all : `name: ${JSON.stringify(ctx.shm(name))}`))
    .replace(/'(\/[^'\\]*)'/g, (all, p) => {
      const local = path.join(ctx.tmp, p);
      fs.mkdirSync(path.dirname(local), { recursive: true });
      return JSON.stringify(local);
    });
}

/** The block as the body of an async function that returns the names it declares. */
function compile(block, ctx) {
  const adjust = ADJUST_BY_BLOCK.get(block.index) || {};
  const claims = [];
  let code = block.lines.map((_, i) => claimLine(block, i, claims)).join('\n');
  for (const [from, to] of adjust.replace || []) {
    assert.ok(code.includes(from), `${where(block)}: the text to replace, ${from}, is not in the block`);
    code = code.split(from).join(to(ctx));
  }
  code = localise(code, ctx);
  const { names, required } = declaredNames(block);
  const exported = names.filter((n) => !(adjust.keep || []).includes(n));
  const body = `'use strict';\n{\n${code}\n;return { ${exported.join(', ')} };\n}`;
  return { body, claims, required, adjust };
}

// ---------------------------------------------------------------------------------------------
// The tables, resolved to blocks. What is wrong with an entry (a line in no block or in two, two
// entries for one block, a preludes' section the document does not have) goes to `problems`,
// which the test reports before any block runs.

const problems = [];
function blockOfLine(line, table) {
  const found = BLOCKS.filter((b) => b.lines.some((l) => l.trim() === line));
  if (found.length !== 1) problems.push(`${table}: ${found.length} blocks have the line ${line}`);
  return found.length === 1 ? found[0] : null;
}
const byBlock = (table, name) => {
  const map = new Map();
  for (const e of table) {
    const b = blockOfLine(e.line, name);
    if (b === null) continue;
    if (map.has(b.index)) problems.push(`${name}: two entries for the block at ${where(b)}`);
    map.set(b.index, e);
  }
  return map;
};
const SKIP_BY_BLOCK = byBlock(SKIP, 'SKIP');
const ADJUST_BY_BLOCK = byBlock(ADJUST, 'ADJUST');
const CLAIMS_BY_LINE = new Map(CLAIMS.map((c) => [c.line, c]));
for (const c of CLAIMS) blockOfLine(c.line, 'CLAIMS');
// Every checked line, read once here so that a result comment the test cannot read is reported
// with the tables.
let checkedLines = 0;
for (const b of BLOCKS.filter((x) => !SKIP_BY_BLOCK.has(x.index))) {
  const claims = [];
  try {
    b.lines.forEach((_, i) => claimLine(b, i, claims));
  } catch (e) {
    problems.push(e.message);
  }
  checkedLines += claims.length;
}
const SECTION_NAMES = new Set(BLOCKS.map((b) => b.section));
for (const s of Object.keys(SECTIONS)) if (!SECTION_NAMES.has(s)) problems.push(`SECTIONS: no block is in a section ${s}`);

module.exports = { DOC, BLOCKS, where, compile, partsOf, SKIP_BY_BLOCK, ADJUST_BY_BLOCK, SECTION_NAMES, problems, checkedLines };
