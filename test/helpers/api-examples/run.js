'use strict';
// Runs the blocks of docs/api.md for its examples test (test/00-repo/api-examples.test.js): a
// section's context (its segment prefix, temporary directory, scope and prelude), one block with
// what the tables do around it, and the section's clean-up.
//
// The blocks of one `##` section are fragments of one program. Each runs in an async function of
// its own (so that `await` at its top level, and a `const` that a later block declares again,
// work as a reader expects), with in scope: the package's exports, the section's prelude and
// every name the earlier blocks of the section declared at their top level.
// `require('shmstore')` is the package itself (a package may require itself by its name).
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const shmstore = require('../../..');
const { uniqueName } = require('../process');
const { compile, where, partsOf, ADJUST_BY_BLOCK } = require('./blocks');
const { SECTIONS } = require('./preludes');
const { ROOT, runWorker } = require('./parties');
const { baseScope, withStop, StopLoop } = require('./scope');

const { Segment } = shmstore;
const AsyncFunction = (async () => {}).constructor;

// ---------------------------------------------------------------------------------------------
// A section.

/** The context of a section, filled when it starts (openSection). */
function newSection() {
  return { pending: [], intervals: [], values: [], servers: [], workers: [], unblock: [], cleanups: [], posted: [], calls: {}, logs: [] };
}

/** Starts the section: its names, directory and scope, with its prelude. */
async function openSection(ctx, section) {
  ctx.prefix = `${uniqueName('api')}.`;
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstore-api-'));
  ctx.shm = (name) => ctx.prefix + name;
  // A promise the section waits for later; its failure is reported then, and by no
  // unhandled rejection before.
  ctx.defer = (p) => {
    p.catch(() => {});
    ctx.pending.push(p);
  };
  ctx.track = (v) => {
    ctx.values.push(v);
    return v;
  };
  ctx.scope = baseScope(ctx);
  const { prelude } = SECTIONS[section] || {};
  if (prelude) Object.assign(ctx.scope, await prelude(ctx));
}

// ---------------------------------------------------------------------------------------------
// A block.

/** Runs the block in `scope`; the names it declared ({} when a stop of its entry ended it). */
async function callBlock(block, ctx, scope) {
  const { body, claims, required, adjust } = compile(block, ctx);
  // A name destructured from a module it does not export would be undefined without a word.
  for (const { name, from } of required) assert.notStrictEqual(scope.require(from)[name], undefined, `${where(block)}: ${from} exports no ${name}`);
  const names = Object.keys(scope);
  const fn = new AsyncFunction(...names, '__claim', '__throws', body);
  const claim = (id, value) => {
    claims[id].reached = true;
    try {
      claims[id].check(value, ctx.scope);
    } catch (e) {
      e.message = `${claims[id].at}: ${e.message}`;
      throw e;
    }
    return value;
  };
  const throws = async (id, f) => {
    claims[id].reached = true;
    const { name, code } = claims[id].check;
    await assert.rejects(f, (e) => e.name === name && e.code === code, `${claims[id].at}: expected ${name} ${code}`);
  };
  let declared;
  try {
    declared = await fn(...names.map((n) => scope[n]), claim, throws);
  } catch (e) {
    if (!(e instanceof StopLoop && adjust.stop)) throw e;
    declared = {};
  }
  for (const c of claims) assert.ok(c.reached, `${c.at}: the checked line did not run`);
  return declared;
}

/** Waits for what the blocks left running (kept for the cleanup until it has ended). */
async function join(ctx) {
  await Promise.all(ctx.pending);
  ctx.pending.length = 0;
}

// Runs one block: its before, the block (in this thread, or in a worker; now, or left to end
// later), the intervals it started, its after; joins what earlier blocks left running.
async function runBlock(block, ctx) {
  const adjust = ADJUST_BY_BLOCK.get(block.index) || {};
  ctx.logs = [];
  ctx.stopped = false;
  if (adjust.before) await adjust.before(ctx.scope, ctx);
  const bind = (declared) => {
    Object.assign(ctx.scope, declared);
    ctx.values.push(...Object.values(declared));
  };
  if (adjust.thread) {
    const { body, claims } = compile(block, ctx);
    assert.strictEqual(claims.length, 0, `${where(block)}: a block run in a thread has no checked lines`);
    const source = `const { workerData } = require('worker_threads');
      const { ${Object.keys(shmstore).join(', ')} } = require(workerData.root);
      (async () => {\n${body}\n})();`;
    ctx.defer(runWorker(ctx, source, { root: ROOT }));
    return;
  }
  if (adjust.parts) {
    for (const part of partsOf(block, adjust.parts)) bind(await callBlock(part, ctx, ctx.scope));
    await join(ctx);
    return;
  }
  const scope = adjust.stop ? withStop(ctx.scope, adjust.stop, ctx) : ctx.scope;
  const running = callBlock(block, ctx, scope);
  if (adjust.later) {
    ctx.defer(running.then(bind));
    return;
  }
  if (adjust.meanwhile) await adjust.meanwhile(ctx.scope, ctx);
  bind(await running);
  if (adjust.stop) assert.ok(ctx.stopped, `${where(block)}: the loop ended before ${adjust.stop[0]} ended it`);
  await join(ctx);
  for (const { t, fn, args } of ctx.intervals.splice(0)) {
    clearInterval(t);
    await fn(...args);
  }
  if (adjust.after) await adjust.after(ctx.scope, ctx);
}

// ---------------------------------------------------------------------------------------------
// The end of a section, or of what a block that failed left.

/** Closes what the section opened, removes its segments and its directory. */
async function cleanup(ctx) {
  try {
    await release(ctx);
  } finally {
    for (const name of fs.readdirSync('/dev/shm').filter((n) => n.startsWith(ctx.prefix))) Segment.unlink({ name });
    fs.rmSync(ctx.tmp, { recursive: true, force: true });
  }
}

// Ends what the blocks left running, after a block failed: what still waits for it is woken
// (ctx.unblock) or terminated, so that neither the next blocks nor the process wait for ever.
async function abandon(ctx) {
  for (const f of ctx.unblock) f();
  for (const w of ctx.workers) w.terminate();
  await Promise.allSettled(ctx.pending.splice(0));
}

// Closes every object the blocks and the prelude bound, then what the prelude started.
async function release(ctx) {
  await abandon(ctx);
  for (const { t } of ctx.intervals.splice(0)) clearInterval(t);
  for (const v of ctx.values.reverse()) {
    if (v === null || typeof v !== 'object') continue;
    // Keyv and cache instances, adapters, stores, segments, sync objects, queues, pools,
    // registries, subscribers, channels (close() ends a channel for everyone, dispose() the handle).
    for (const method of ['disconnect', 'close', 'dispose']) {
      try {
        if (typeof v[method] === 'function' && !(method === 'close' && v.closed === true)) await v[method]();
      } catch {
        // closed already, or closed by what was closed before it
      }
    }
  }
  await Promise.all(ctx.servers.map((s) => new Promise((r) => (s.listening ? s.close(r) : r()))));
  for (const f of ctx.cleanups.reverse()) await f();
}

module.exports = { newSection, openSection, runBlock, abandon, cleanup };
