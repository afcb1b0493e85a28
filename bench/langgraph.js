#!/usr/bin/env node
'use strict';
// The LangGraph adapters (shmstore/langgraph) against LangGraph's in-process MemorySaver and
// InMemoryStore, which is what a single process would use instead (and which no other thread
// or process can see). Each case runs in its own child process: it fills `threads` threads of
// 10 checkpoints (each with one pending write) and 10 memory items per thread, then times each
// operation. Prints median microseconds per operation and the ratio to the in-memory peer,
// with the machine, Node version and date.
//
//   node bench/langgraph.js [--threads N] [--reps N]
const { fork } = require('child_process');
const { machine } = require('./lib/report');

const CASES = ['shmstore-native', 'shmstore-js', 'memory'];
const arg = (flag, dflt) => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : dflt);
const threads = arg('--threads', 1000);
const reps = arg('--reps', 200);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function timeEach(n, fn) {
  const us = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    us.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return median(us);
}

async function runCase(name) {
  const lg = require('@langchain/langgraph-checkpoint');
  let saver;
  let memory;
  if (name === 'memory') {
    saver = new lg.MemorySaver();
    memory = new lg.InMemoryStore();
  } else {
    const { Store } = require('..');
    const { ShmstoreSaver, ShmstoreStore } = require('../lib/adapters/langgraph');
    const store = Store.create({ buffer: new SharedArrayBuffer(256 << 20), engine: name.slice(9) });
    saver = new ShmstoreSaver(store);
    memory = new ShmstoreStore(store);
  }
  const meta = (step) => ({ source: 'loop', step, parents: {} });
  const checkpoint = (v) => ({ ...lg.emptyCheckpoint(), channel_values: { messages: [`m${v}`] }, channel_versions: { messages: v } });
  const last = [];
  for (let t = 0; t < threads; t++) {
    let config = { configurable: { thread_id: `t${t}` } };
    for (let i = 1; i <= 10; i++) {
      config = await saver.put(config, checkpoint(i), meta(i), { messages: i });
      await saver.putWrites(config, [['messages', `w${i}`]], `task${i}`);
    }
    last.push(config);
    for (let i = 0; i < 10; i++) await memory.put(['users', `u${t}`], `k${i}`, { i, kind: i % 2 ? 'odd' : 'even' });
  }
  const r = {};
  r['put'] = await timeEach(reps, (i) => saver.put({ configurable: { thread_id: `new${i}` } }, checkpoint(1), meta(0), { messages: 1 }));
  r['putWrites'] = await timeEach(reps, (i) => saver.putWrites(last[i % threads], [['x', i]], `bench${i}`));
  r['getTuple by id'] = await timeEach(reps, (i) => saver.getTuple(last[i % threads]));
  r['getTuple latest'] = await timeEach(reps, (i) => saver.getTuple({ configurable: { thread_id: `t${i % threads}` } }));
  r['list 10 of a thread'] = await timeEach(reps, async (i) => {
    let n = 0;
    for await (const t of saver.list({ configurable: { thread_id: `t${i % threads}` } }, { limit: 10 })) n += t ? 1 : 0;
    return n;
  });
  r['store put'] = await timeEach(reps, (i) => memory.put(['bench'], `k${i}`, { i }));
  r['store get'] = await timeEach(reps, (i) => memory.get(['users', `u${i % threads}`], 'k3'));
  r['store search (one path, filter)'] = await timeEach(reps, (i) => memory.search(['users', `u${i % threads}`], { filter: { kind: 'odd' } }));
  process.send(r);
}

async function main() {
  const results = {};
  for (const name of CASES) {
    results[name] = await new Promise((resolve, reject) => {
      const child = fork(__filename, ['--case', name, '--threads', String(threads), '--reps', String(reps)]);
      child.once('message', resolve);
      child.once('exit', (code) => (code ? reject(new Error(`${name} exited with ${code}`)) : null));
    });
  }
  const m = machine();
  console.log(`LangGraph adapters: ${threads} threads x 10 checkpoints (+1 write each), ${threads * 10} memory items; median us/op over ${reps}`);
  console.log(`${m.cpu} (${m.cores} cores), ${m.os}, Node ${m.node}, ${new Date().toISOString()}`);
  const ops = Object.keys(results.memory);
  const w = Math.max(...ops.map((o) => o.length)) + 2;
  console.log('op'.padEnd(w) + CASES.map((c) => c.padStart(16)).join('') + '  native/memory'.padStart(16) + '  js/memory'.padStart(12));
  for (const op of ops) {
    const row = CASES.map((c) => results[c][op].toFixed(1).padStart(16)).join('');
    const ratio = (c) => `${(results[c][op] / results.memory[op]).toFixed(1)}x`;
    console.log(op.padEnd(w) + row + ratio('shmstore-native').padStart(16) + ratio('shmstore-js').padStart(12));
  }
}

if (process.argv[2] === '--case') runCase(process.argv[3]).catch((err) => {
  console.error(err);
  process.exit(1);
});
else main().catch((err) => {
  console.error(err);
  process.exit(1);
});
