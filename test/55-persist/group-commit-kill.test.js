'use strict';
// kill -9 in the middle of group commit (docs/api.md, "store.setDurable"; format.md §16, "Group
// commit"): writer processes of both engines, in sync mode 'none', await batches of setDurable
// calls, whose syncs one process's flush covers for the others, and record each acknowledged
// batch; they are killed at random moments, while batches are in flight, and the store is rebuilt
// from the log (its segment removed, as a reboot does). Every acknowledged write must be there
// with its value, and the store sound.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { Store } = require('../../index');
const native = require('../../lib/base/native');
const { ROOT } = require('../helpers/process');
const { persistTarget, recover } = require('../helpers/persist');

const CHILD = path.join(ROOT, 'test/helpers/children/durable-acks.js');
// Each writer's acknowledged writes, at least, before the kills; the rounds; the writers a round.
const MIN_ACKED = 16;
const EXTRA_ACKED = 64;
const ROUNDS = 3;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The last acknowledged n a writer recorded: complete lines only (a kill can tear the last).
function acked(file) {
  if (!fs.existsSync(file)) return -1;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines.length === 0 ? -1 : Number(lines[lines.length - 1]);
}

(native.addon ? describe : describe.skip)('Persistence: kill -9 of writers in the middle of group commit', function () {
  this.timeout(120000);
  let t;
  beforeEach(() => { t = persistTarget('gkill'); });
  afterEach(() => t.cleanup());

  it("every write acknowledged by setDurable survives kill -9 of every writer (sync 'none', both engines, 3 rounds)", async () => {
    Store.create({ name: t.name, size: 1 << 23, maxEntries: 1 << 16, persist: { dir: t.dir, sync: 'none' } }).close();
    let checked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const writers = [['native', 0], ['js', 1], ['native', 2]].map(([engine, c]) => {
        const tag = `r${round}c${c}`;
        const expected = path.join(t.dir, `${tag}.expected`);
        const child = spawn(process.execPath, [CHILD, t.name, t.dir, engine, tag, expected], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => { stderr += d; });
        const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr: () => stderr })));
        return { tag, engine, expected, child, exited };
      });
      const want = MIN_ACKED + Math.floor(Math.random() * EXTRA_ACKED);
      for (const deadline = Date.now() + 60000; writers.some((w) => acked(w.expected) < want);) {
        if (Date.now() > deadline) throw new Error(`writers made no progress: ${writers.map((w) => w.child.exitCode).join(', ')}`);
        await sleep(5);
      }
      for (const w of writers) {
        await sleep(Math.floor(Math.random() * 20));
        w.child.kill('SIGKILL');
      }
      for (const w of writers) {
        const r = await w.exited;
        assert.strictEqual(r.signal, 'SIGKILL', r.stderr());
      }
      const s = recover(t.name, t.dir, round % 2 ? 'js' : 'native');
      try {
        for (const w of writers) {
          const a = acked(w.expected);
          for (let n = 0; n <= a; n++) {
            assert.strictEqual(s.get('w', `${w.tag}:${n}`), `${w.tag}:${n}:${w.engine}`, `${w.tag}:${n}, acknowledged up to ${a}`);
            checked += 1;
          }
        }
        assert.strictEqual(s.verify().ok, true);
      } finally {
        s.close();
      }
    }
    assert.ok(checked >= ROUNDS * MIN_ACKED, `${checked} writes checked`);
  });
});
