#!/usr/bin/env node
'use strict';
// The dependency check of the rooms (docs/architecture.md): a file of room R may use only R and
// the rooms below it. It reads every `#include "..."` in src/, binding/, test/cpp/ and bench/cpp/
// and every relative `require()` in lib/ and test/, and exits 1 listing each arrow that points
// up or sideways, each Node header included from src/ (the core never sees Node), and each
// require of the addon outside lib/base/native.js. `npm test` runs it.
const fs = require('fs');
const path = require('path');

// Lowest first. A room may depend on the rooms before it in this list, never on those after.
// The last ones are reserved for the subsystems that are planned (docs/architecture.md).
const ROOMS = ['base', 'layout', 'segment', 'ownership', 'store', 'persist', 'sync', 'msg', 'pool', 'registry', 'adapters'];
const RANK = new Map(ROOMS.map((r, i) => [r, i]));
const NODE_HEADERS = /^(napi\.h|node_api\.h|node\.h|v8\.h|uv\.h|js_native_api\.h)$/;

function walk(dir, pattern, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, ent.name);
    if (ent.isDirectory()) walk(abs, pattern, out);
    else if (pattern.test(ent.name)) out.push(abs);
  }
  return out;
}

// The room a repository path belongs to, or null for a file above every room (the addon's
// entry point, index.js, helpers shared by the tests). Test folders are numbered: 50-store.
function roomOf(rel) {
  const parts = rel.split('/');
  let dir;
  if (parts[0] === 'src' || parts[0] === 'lib' || parts[0] === 'binding') dir = parts[1];
  else if (parts[0] === 'test' && parts[1] === 'cpp') dir = parts[2];
  else if (parts[0] === 'test' && (parts[1] === 'helpers' || parts[1] === '00-repo')) return null; // shared, repo-wide
  else if (parts[0] === 'test') dir = parts[1] && parts[1].replace(/^\d+-/, '');
  else return null;
  if (parts.length < 3) return null; // a file directly in src/, lib/, binding/ or test/
  return RANK.has(dir) ? dir : `?${dir}`;
}

function lineOf(text, index) {
  return text.slice(0, index).split('\n').length;
}

function check(root) {
  const problems = [];
  const report = (file, text, index, message) =>
    problems.push(`${path.relative(root, file)}:${lineOf(text, index)}: ${message}`);
  const verdict = (from, to) => {
    if (from === null || to === null) return null;
    if (from.startsWith('?')) return `folder '${from.slice(1)}' is not a room (scripts/check-deps.js ROOMS)`;
    if (to.startsWith('?')) return `'${to.slice(1)}' is not a room`;
    if (RANK.get(to) > RANK.get(from)) return `room '${from}' must not depend on '${to}' (above it)`;
    return null;
  };

  const cppDirs = ['src', 'binding', 'test/cpp', 'bench/cpp'];
  for (const dir of cppDirs) {
    for (const file of walk(path.join(root, dir), /\.(h|hpp|cc|cpp)$/)) {
      const rel = path.relative(root, file).split(path.sep).join('/');
      const from = rel.startsWith('bench/') ? null : roomOf(rel);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*#\s*include\s*([<"])([^>"]+)[>"]/gm)) {
        const [, kind, inc] = m;
        if (rel.startsWith('src/') && NODE_HEADERS.test(path.basename(inc))) {
          report(file, text, m.index, `src/ must not include Node headers (${inc})`);
          continue;
        }
        if (kind !== '"') continue;
        const parts = inc.split('/');
        let to = null;
        if (parts[0] === 'binding') {
          if (!rel.startsWith('binding/')) report(file, text, m.index, `only binding/ may include ${inc}`);
          else to = RANK.has(parts[1]) ? parts[1] : `?${parts[1]}`;
        } else if (parts.length > 1) {
          to = RANK.has(parts[0]) ? parts[0] : `?${parts[0]}`;
        } else {
          continue; // a file beside the includer (same room)
        }
        const v = verdict(from, to);
        if (v) report(file, text, m.index, `${v}: #include "${inc}"`);
      }
    }
  }

  for (const dir of ['lib', 'test']) {
    for (const file of walk(path.join(root, dir), /\.(js|cjs|mjs)$/)) {
      const rel = path.relative(root, file).split(path.sep).join('/');
      if (rel.startsWith('test/cpp/')) continue;
      const from = roomOf(rel);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/require(?:\.resolve)?\(\s*(['"])(\.{1,2}\/[^'"]*)\1/g)) {
        const target = path.relative(root, path.resolve(path.dirname(file), m[2])).split(path.sep).join('/');
        if (/(^|\/)build\//.test(target) || target.endsWith('.node')) {
          if (rel.startsWith('lib/') && rel !== 'lib/base/native.js') report(file, text, m.index, `only lib/base/native.js loads the addon (${m[2]})`);
          continue;
        }
        if (rel.startsWith('lib/') && !target.startsWith('lib/')) {
          report(file, text, m.index, `lib/ must not require outside lib/ (${m[2]})`);
          continue;
        }
        const to = target.startsWith('lib/') ? roomOf(target + (target.endsWith('.js') ? '' : '.js')) : null;
        const v = verdict(from, to);
        if (v) report(file, text, m.index, `${v}: require('${m[2]}')`);
      }
    }
  }
  return problems;
}

module.exports = { ROOMS, check, roomOf };

if (require.main === module) {
  const root = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, '..');
  const problems = check(root);
  for (const p of problems) console.error(p);
  if (problems.length) {
    console.error(`check-deps: ${problems.length} dependency problem(s); see docs/architecture.md`);
    process.exit(1);
  }
  console.log('check-deps: every include and require points down');
}
