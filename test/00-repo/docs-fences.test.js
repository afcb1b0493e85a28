'use strict';
// The documents' code blocks are closed: an opening fence (```js, ```sh, ...) inside an open block
// would swallow the prose and headings after it into code (as a missing closing fence once did
// to a whole section of docs/api.md).
const assert = require('assert');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const DOCS = [
  'README.md',
  'bench/README.md',
  ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
];

describe('documents: code fences', () => {
  for (const doc of DOCS) {
    it(`${doc}: every block is closed before the next one opens`, () => {
      const lines = fs.readFileSync(path.join(ROOT, doc), 'utf8').split('\n');
      let open = 0; // the line number of the open block's fence, 0 outside a block
      lines.forEach((line, i) => {
        const m = /^\s*```(\S*)\s*$/.exec(line);
        if (!m) return;
        if (open === 0) open = i + 1;
        else {
          assert.strictEqual(m[1], '', `${doc}:${i + 1}: a fence with a language inside the block opened at line ${open}`);
          open = 0;
        }
      });
      assert.strictEqual(open, 0, `${doc}: the block opened at line ${open} is never closed`);
    });
  }
});
