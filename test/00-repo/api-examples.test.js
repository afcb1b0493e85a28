'use strict';
// Every ```js block of docs/api.md runs against the package, in the order of the document, so
// that an example that no longer matches the API (a method, option or export renamed or gone,
// arguments in another order, a result its comment states that the call does not give) fails.
//
// The blocks of one `##` section are fragments of one program: each runs in an async function
// of its own, with the package's exports, the section's prelude and the names the earlier blocks
// declared in scope. A trailing comment that states a value (`// → [1, 2, undefined]`, `// 8512`)
// or an error (`// throws ShmError ERR_X`) is checked against its line. What the examples cannot
// do as they are written, the test's tables do, each entry with its reason.
//
// The parts, in test/helpers/api-examples/:
//   blocks.js    the document read into blocks, the tables matched to them, a block compiled;
//   run.js       a section's context, running a block, the section's clean-up;
//   scope.js     what every block has in scope;
//   parties.js   the worker threads and clients the examples wait for;
//   tables.js    the blocks skipped, and the checks of results that are not plain values;
//   adjust.js    what the test does around particular blocks;
//   preludes.js  what each section's examples take as given.
const assert = require('assert');
const { DOC, BLOCKS, where, SKIP_BY_BLOCK, SECTION_NAMES, problems, checkedLines } = require('../helpers/api-examples/blocks');
const { newSection, openSection, runBlock, abandon, cleanup } = require('../helpers/api-examples/run');

const ran = new Set();
const toRun = BLOCKS.length - SKIP_BY_BLOCK.size;

describe(`${DOC}: ${BLOCKS.length} js blocks, ${toRun} run, ${SKIP_BY_BLOCK.size} skipped`, function () {
  this.timeout(30000);

  it(`every entry of the test's tables names one block of the document; ${checkedLines} lines have their stated results checked`, () => {
    assert.deepStrictEqual(problems, []);
  });

  for (const section of SECTION_NAMES) {
    const blocks = BLOCKS.filter((b) => b.section === section);
    describe(section === '' ? '(top)' : `## ${section}`, function () {
      const ctx = newSection();

      before(() => openSection(ctx, section));

      after(() => cleanup(ctx));

      for (const block of blocks) {
        const title = `${where(block)} ${block.lines.find((l) => l.trim() !== '').trim()}`;
        const skip = SKIP_BY_BLOCK.get(block.index);
        if (skip) {
          it.skip(`${title} (${skip.why})`);
          continue;
        }
        it(title, async () => {
          // A block before that failed or timed out may have left parties waiting.
          if (ctx.unfinished) await abandon(ctx);
          ctx.unfinished = true;
          try {
            await runBlock(block, ctx);
          } catch (e) {
            await abandon(ctx);
            throw e;
          }
          ctx.unfinished = false;
          ran.add(block.index);
        });
      }
    });
  }

});

// After the sections (mocha runs a suite's own tests before its child suites).
describe(`${DOC}: every block ran`, () => {
  it(`ran every block but those skipped: ${toRun} of ${BLOCKS.length}`, () => {
    const missing = BLOCKS.filter((b) => !ran.has(b.index) && !SKIP_BY_BLOCK.has(b.index)).map((b) => where(b));
    assert.deepStrictEqual(missing, []);
    assert.strictEqual(ran.size, toRun);
  });
});
