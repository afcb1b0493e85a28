#!/usr/bin/env node
'use strict';
// Messaging benchmark (npm run bench:msg): one-way throughput (32 B and 1 KB messages, strings
// and JSON objects) and ping-pong round trips, between two worker threads and between two
// processes, for shmstore's SpscRing, MpmcQueue, Stack and PriorityQueue against postMessage (MessageChannel),
// ringbuf.js, child_process IPC, Redis LPUSH/BRPOP (a private redis-server on a free loopback
// port; skipped with the reason when absent), the bare futex wake-up round trip and the bare
// round trip of two spinning threads. SpscRing, MpmcQueue and ringbuf.js run once a message per
// call and once batched (32 messages per send call, whatever has arrived per receive call), and
// postMessage once a message per call and once an array of 32 per call. A bare Atomics ring
// (bench/lib/msg-transports.js) with the same encoding and a ring of raw fixed-size payloads with
// its indices published once per batch ('bare-batch', no encoding at all) are references, not
// bounds: their ends spin without ever giving up the CPU, which costs them whole time slices
// whenever the two threads share a core. Each case
// runs in its own child process (bench/lib/msg-case.js) from the declared list below, once per
// round (every case in each round, so that a change of the machine's load falls on all cases
// alike; each child first runs the case uncounted: at least WARM_MESSAGES messages for the
// one-way cases, one run for the slow ones, and for at least WARM_MS; then runs for at least
// COUNT_MS, whose sustained rate is the round's); the table shows medians over rounds, CPU time per message (both ends;
// Redis's server not included) and the
// ratios the issue's goals name; and fan-out from one publisher to 2 subscriber workers, Broadcast
// against postMessage to each (bench/lib/bcast-case.js); and the single-thread cost of both ends
// of a queue (bench/lib/msg-ops-case.js, "ops/..."). Results: bench/results/msg-latest.json.
//   node bench/msg.js [--quick] [--only <substring>[,<substring>...]] [--runs N] [--wait-idle] [--no-save] [--help]
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { machine, median } = require('./lib/report');
const { startRedis } = require('./lib/redis');
const { version } = require('./lib/versions');
const { waitIdle } = require('./lib/idle');

const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const value = (f, d) => (args.includes(f) ? args[args.indexOf(f) + 1] : d);
const quick = flag('--quick');
// --wait-idle: before each case, wait until the machine was 90% idle for half a second (at most a
// minute; bench/lib/idle.js), so that another program's burst of work does not fall on a case.
const waitIdleFlag = flag('--wait-idle');
const runs = Number(value('--runs', quick ? 3 : 5));
const only = value('--only', null);
// --only a,b: the cases whose id contains any of the comma-separated texts.
const onlyParts = only ? only.split(',').filter(Boolean) : [];
const selected = (id) => !only || onlyParts.some((t) => id.includes(t));
if (flag('--help')) {
  console.log('node bench/msg.js [--quick] [--only <substring>[,<substring>...]] [--runs N] [--wait-idle] [--no-save]\n'
    + '  --only   run the cases whose id (e.g. oneway/processes/mpmc-batch/str32, ops/mpmc) contains any of the texts\n'
    + '  --runs   rounds (default 5; 3 with --quick); --no-save keeps bench/results/msg-latest.json\n'
    + '  --wait-idle  before each case, wait (at most a minute) until the machine was 90% idle for 0.5 s');
  process.exit(0);
}
const CASE = path.join(__dirname, 'lib', 'msg-case.js');
const FANOUT_CASE = path.join(__dirname, 'lib', 'bcast-case.js');
const OPS_CASE = path.join(__dirname, 'lib', 'msg-ops-case.js');
const RESULTS = path.join(__dirname, 'results', 'msg-latest.json');

// The declared cases: [pattern, transport, topology, kind, size, messages per run].
// A one-way run is long enough (tens of milliseconds) that a preempted time slice of the shared
// machine is a small part of it, and the warm-up before it long enough that the JIT has compiled
// the hot loops of every transport alike (a 20,000-message run right after one warm-up run
// measured 3 to 4 times the steady cost of the JS rings and little of postMessage's).
const N = quick ? 20000 : 100000;
const WARM_MESSAGES = quick ? 40000 : 200000;
// The least warm-up of a msg-case.js case (ms from its first run): longer than the start of a
// process, when V8's background threads keep the second core busy (bench/lib/msg-case.js).
const WARM_MS = quick ? 600 : 1000;
// Counted runs of a msg-case.js case per round: at least COUNTED, and as many as start within
// COUNT_MS of the first; the round's sample is their messages over their time together.
const COUNTED = 3;
const COUNT_MS = quick ? 300 : 1000;
const PAYLOADS = [['str', 32], ['json', 32], ['str', 1024], ['json', 1024]];
const THREAD_TRANSPORTS = ['spsc', 'spsc-batch', 'mpmc', 'mpmc-batch', 'stack', 'pq', 'ringbuf', 'ringbuf-batch', 'bare-ring', 'postMessage', 'postMessage-batch'];
const PROCESS_TRANSPORTS = ['spsc', 'spsc-batch', 'mpmc', 'mpmc-batch', 'stack', 'pq', 'ipc', 'redis'];
const RT_THREADS = ['spin', 'futex', 'spsc', 'postMessage', 'channel', 'piscina'];
const RT_PROCESSES = ['spin', 'futex', 'spsc', 'channel', 'ipc'];
const CASES = [];
for (const [kind, size] of PAYLOADS) {
  for (const t of THREAD_TRANSPORTS) CASES.push(['oneway', t, 'threads', kind, size, N]);
  // The raw reference (raw bytes, no encoding): once per size.
  if (kind === 'str') CASES.push(['oneway', 'bare-batch', 'threads', kind, size, N]);
  for (const t of PROCESS_TRANSPORTS.filter((x) => x !== 'redis')) CASES.push(['oneway', t, 'processes', kind, size, N]);
  CASES.push(['oneway', 'redis', 'processes', kind, size, quick ? 500 : 2000]);
}
const RT = quick ? 1000 : 3000;
for (const t of RT_THREADS) CASES.push(['pingpong', t, 'threads', 'str', 32, RT]);
for (const t of RT_PROCESSES) CASES.push(['pingpong', t, 'processes', 'str', 32, RT]);
CASES.push(['pingpong', 'redis', 'processes', 'str', 32, quick ? 300 : 1000]);
// Fan-out: one publisher, 2 subscriber worker threads (bench/lib/bcast-case.js).
for (const kind of ['str', 'json']) for (const t of ['broadcast', 'postMessage']) CASES.push(['fanout', t, 'threads', kind, 32, N]);

// One thread, both ends (bench/lib/msg-ops-case.js): what a 32-byte string costs a queue when no
// cache line moves between cores; `buffer-calls` is the two copies alone, `bare-ring` the least a
// ring of strings a message at a time does.
const OPS = ['buffer-calls', 'bare-ring', 'spsc', 'spsc-batch', 'mpmc', 'mpmc-batch', 'stack', 'pq', 'broadcast'];
const OPS_N = quick ? 50000 : 200000;

const idOf = ([pattern, transport, topology, kind, size]) => `${pattern}/${topology}/${transport}/${kind}${size}`;

// One round of a case in a child process of its own: { samples, cpu, missed? } with one sample
// each, or { error }. bench/lib/msg-case.js warms up by itself and counts runs for at least
// COUNT_MS, whose messages over their time together are the round's sample; the request/reply (msg-rpc.js) and fan-out (bcast-case.js) cases
// run 1 + warmups times and all but the last run are dropped here.
function runOnce(c, redisPort, round) {
  const [pattern, transport, topology, kind, size, n] = c;
  const warmsUp = pattern !== 'fanout' && transport !== 'channel' && transport !== 'piscina';
  // Warm-up runs: at least enough for WARM_MESSAGES one-way messages; 3 runs of the round trips
  // (the second run of 3,000 round trips still measured SpscRing's at 2 to 3 times the third);
  // one of Redis (its runs take a second or so); and, in msg-case.js, every run that starts within
  // WARM_MS of the first.
  const warmups = transport === 'redis' ? 1 : pattern === 'oneway' || pattern === 'fanout' ? Math.ceil(WARM_MESSAGES / n) : 3;
  const desc = {
    id: `bench-${process.pid}-${round}-${idOf(c).replace(/\//g, '-')}`, pattern, transport, topology, kind, size, n,
    runs: warmsUp ? COUNTED : 1 + warmups, warmups, warmMs: WARM_MS, countMs: COUNT_MS, redisPort,
  };
  try {
    const out = execFileSync(process.execPath, [pattern === 'fanout' ? FANOUT_CASE : CASE, JSON.stringify(desc)], { encoding: 'utf8', timeout: 300000, stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(out.trim().split('\n').pop());
    if (!warmsUp) return { ...r, samples: r.samples.slice(-1), cpu: r.cpu.slice(-1) };
    return { ...r, samples: [r.ns], cpu: [r.cpuNs] };
  } catch (e) {
    return { error: String(e.message).split('\n')[0] };
  }
}

const fmt = (x) => (x === undefined || Number.isNaN(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

(async () => {
  const m = machine();
  const date = new Date().toISOString();
  console.log(`shmstore bench: messaging (${date})`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.os}; node ${m.node}; ringbuf.js ${version('ringbuf.js')}, piscina ${version('piscina')}, ioredis ${version('ioredis')}`);
  console.log(`load average: ${require('os').loadavg().map((x) => x.toFixed(2)).join(' ')}; ${runs} rounds of every case (each round: warm-up of at least ${WARM_MS} ms, then at least ${COUNT_MS} ms counted, its messages over its time; median over rounds), ${N} messages per one-way run\n`);
  const redis = await startRedis();
  let redisNote;
  if (redis.note) {
    redisNote = redis.note;
    console.log(`redis: ${redis.note}`);
  } else {
    try {
      redisNote = `redis-server ${execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)[1]} on 127.0.0.1:${redis.port}`;
    } catch {
      redisNote = `redis-server on 127.0.0.1:${redis.port}`;
    }
    console.log(`redis: ${redisNote}`);
  }
  // Rounds: every case runs once per round, the rounds one after the other, so that a change in
  // the machine's load during the benchmark falls on every case alike (a case and the peers it is
  // compared with are measured minutes apart at most, never one before the other altogether).
  const results = {};
  const cases = CASES.filter((c) => selected(idOf(c)));
  const perCase = {};
  for (const c of cases) {
    if (c[1] === 'redis' && redis.note) results[idOf(c)] = { skipped: redis.note };
    else perCase[idOf(c)] = { samples: [], cpu: [], missed: undefined, error: undefined };
  }
  const waited = [];
  for (let round = 0; round < runs; round++) {
    console.log(`round ${round + 1} of ${runs} (load average ${require('os').loadavg()[0].toFixed(2)})`);
    for (const c of cases) {
      const acc = perCase[idOf(c)];
      if (!acc || acc.error) continue;
      if (waitIdleFlag) {
        const w = await waitIdle();
        if (w.waitedMs > 0) waited.push(w.waitedMs);
      }
      const r = runOnce(c, redis.port, round);
      if (r.error) {
        acc.error = r.error;
        continue;
      }
      acc.samples.push(...r.samples);
      acc.cpu.push(...r.cpu);
      if (r.missed !== undefined) acc.missed = (acc.missed || 0) + r.missed;
    }
  }
  if (waitIdleFlag) console.log(`--wait-idle: ${waited.length} of the case runs waited for an idle machine, ${(waited.reduce((a, b) => a + b, 0) / 1000).toFixed(0)} s in all`);
  for (const c of cases) {
    const id = idOf(c);
    const acc = perCase[id];
    if (!acc) continue;
    results[id] = acc.error ? { error: acc.error }
      : { ns: median(acc.samples), cpu: median(acc.cpu), samples: acc.samples, ...(acc.missed === undefined ? {} : { missed: acc.missed }) };
    const r = results[id];
    console.log(`  ${id.padEnd(42)} ${r.error ? `error: ${r.error}` : `${fmt(r.ns)} ns/msg, cpu ${fmt(r.cpu)} ns/msg`}`);
  }
  if (redis.stop) await redis.stop();

  // The single-thread cases, each in a child of its own: 3 warm-up runs, then `runs` runs.
  const ops = {};
  for (const op of OPS) {
    if (!selected(`ops/${op}`)) continue;
    try {
      const out = execFileSync(process.execPath, [OPS_CASE, JSON.stringify({ op, n: OPS_N, runs, warmups: 3 })], { encoding: 'utf8', timeout: 300000, stdio: ['ignore', 'pipe', 'inherit'] });
      const { samples } = JSON.parse(out.trim().split('\n').pop());
      ops[op] = { ns: median(samples), samples };
    } catch (e) {
      ops[op] = { error: String(e.message).split('\n')[0] };
    }
  }

  // The table: one-way per payload, then round trips.
  const ref = (pattern, topology, transport, payload) => results[`${pattern}/${topology}/${transport}/${payload}`];
  console.log('\none-way throughput: ns per message (median) | CPU ns per message | × postMessage (threads, same payload)');
  for (const [kind, size] of PAYLOADS) {
    const payload = `${kind}${size}`;
    const pm = ref('oneway', 'threads', 'postMessage', payload);
    console.log(`  ${payload}`);
    for (const [topology, transports] of [['threads', [...THREAD_TRANSPORTS, 'bare-batch']], ['processes', PROCESS_TRANSPORTS]]) {
      for (const t of transports) {
        const r = ref('oneway', topology, t, payload);
        if (!r) continue;
        if (r.skipped || r.error) {
          console.log(`    ${`${topology} ${t}`.padEnd(22)} ${r.skipped || r.error}`);
          continue;
        }
        const ratio = pm && pm.ns ? (r.ns / pm.ns).toFixed(3) : '—';
        console.log(`    ${`${topology} ${t}`.padEnd(22)} ${fmt(r.ns).padStart(9)} ns  ${fmt(r.cpu).padStart(9)} cpu ns  ${ratio.padStart(7)} × postMessage  ${(1e9 / r.ns / 1e6).toFixed(2)} M msg/s`);
      }
    }
  }
  console.log('\nround trip (ping-pong, 32-byte string): ns per round trip | CPU ns per round trip | × bare futex (same topology)');
  console.log('  (spin: two threads polling one word, never sleeping; futex: a wait and a wake per hand-off)');
  for (const topology of ['threads', 'processes']) {
    const fx = ref('pingpong', topology, 'futex', 'str32');
    for (const t of [...new Set([...RT_THREADS, ...RT_PROCESSES, 'redis'])]) {
      const r = ref('pingpong', topology, t, 'str32');
      if (!r) continue;
      if (r.skipped || r.error) {
        console.log(`    ${`${topology} ${t}`.padEnd(22)} ${r.skipped || r.error}`);
        continue;
      }
      console.log(`    ${`${topology} ${t}`.padEnd(22)} ${fmt(r.ns).padStart(9)} ns  ${fmt(r.cpu).padStart(9)} cpu ns  ${fx && fx.ns ? (r.ns / fx.ns).toFixed(2) : '—'} × futex`);
    }
  }
  if (Object.keys(ops).length) {
    console.log(`\none thread, both ends (32-byte strings, ${OPS_N} messages a run, median of ${runs} runs): ns per message sent and received | × bare ring`);
    const bare = ops['bare-ring'];
    for (const op of OPS) {
      const r = ops[op];
      if (!r) continue;
      if (r.error) console.log(`    ${op.padEnd(22)} error: ${r.error}`);
      else console.log(`    ${op.padEnd(22)} ${fmt(r.ns).padStart(9)} ns  ${bare && bare.ns ? (r.ns / bare.ns).toFixed(2) : '—'} × bare ring`);
    }
  }
  console.log('\nfan-out to 2 subscriber worker threads: ns per message published (median) | CPU ns per message | × postMessage to each');
  for (const kind of ['str', 'json']) {
    const pm = ref('fanout', 'threads', 'postMessage', `${kind}32`);
    for (const t of ['broadcast', 'postMessage']) {
      const r = ref('fanout', 'threads', t, `${kind}32`);
      if (!r) continue;
      if (r.error) {
        console.log(`    ${`${kind}32 ${t}`.padEnd(22)} ${r.error}`);
        continue;
      }
      const ratio = pm && pm.ns ? (r.ns / pm.ns).toFixed(3) : '—';
      const missed = r.missed === undefined ? '' : `  missed ${r.missed}`;
      console.log(`    ${`${kind}32 ${t}`.padEnd(22)} ${fmt(r.ns).padStart(9)} ns  ${fmt(r.cpu).padStart(9)} cpu ns  ${ratio.padStart(7)} × postMessage${missed}`);
    }
  }

  // The goals of the issue, with the numbers that decide them.
  const goals = [];
  const goal = (text, ok, detail) => goals.push({ text, met: ok === null ? null : !!ok, detail });
  for (const [kind, size] of PAYLOADS) {
    const p = `${kind}${size}`;
    const pm = ref('oneway', 'threads', 'postMessage', p);
    for (const [spsc, ringbuf, how] of [['spsc', 'ringbuf', 'a message per call'], ['spsc-batch', 'ringbuf-batch', 'batched']]) {
      const s = ref('oneway', 'threads', spsc, p);
      const rb = ref('oneway', 'threads', ringbuf, p);
      if (s && pm && s.ns && pm.ns) goal(`SPSC one-way ${p}, ${how}, <= 1/10 of postMessage`, s.ns <= pm.ns / 10, `${fmt(s.ns)} vs ${fmt(pm.ns)} ns (${(s.ns / pm.ns).toFixed(3)}×)`);
      if (s && rb && s.ns && rb.ns) goal(`SPSC one-way ${p}, ${how}, faster than ringbuf.js ${how}`, s.ns < rb.ns, `${fmt(s.ns)} vs ${fmt(rb.ns)} ns`);
    }
    // For orientation (no goal): the batched ring against postMessage of arrays, and the bare ring.
    const sb = ref('oneway', 'threads', 'spsc-batch', p);
    const pmb = ref('oneway', 'threads', 'postMessage-batch', p);
    const bare = ref('oneway', 'threads', 'bare-ring', p);
    const s1 = ref('oneway', 'threads', 'spsc', p);
    if (sb && pmb && sb.ns && pmb.ns) goal(`(orientation) SPSC one-way ${p}, batched, against postMessage of arrays of 32`, null, `${fmt(sb.ns)} vs ${fmt(pmb.ns)} ns (${(sb.ns / pmb.ns).toFixed(3)}×)`);
    if (s1 && bare && s1.ns && bare.ns) goal(`(orientation) SPSC one-way ${p}, a message per call, against the bare Atomics ring`, null, `${fmt(s1.ns)} vs ${fmt(bare.ns)} ns (${(s1.ns / bare.ns).toFixed(2)}×${pm && pm.ns ? `; bare ring ${(bare.ns / pm.ns).toFixed(3)}× postMessage` : ''})`);
  }
  // The raw batched ring (no encoding at all) against postMessage and SpscRing's batches. Not a
  // lower bound: its spinning ends lose whole time slices when the two threads share a core,
  // where SpscRing's give the core up (bench/README.md), so the line says which was faster.
  for (const size of [32, 1024]) {
    const raw = ref('oneway', 'threads', 'bare-batch', `str${size}`);
    const pm = ref('oneway', 'threads', 'postMessage', `str${size}`);
    const sb = ref('oneway', 'threads', 'spsc-batch', `str${size}`);
    if (raw && pm && raw.ns && pm.ns) {
      const against = sb && sb.ns ? `; SpscRing batched ${fmt(sb.ns)} ns, ${sb.ns < raw.ns ? 'faster' : 'slower'} than the raw ring` : '';
      goal(`(orientation) raw ${size}-byte payloads, indices published per batch, spinning ends, against postMessage str${size}`, null,
        `${fmt(raw.ns)} vs ${fmt(pm.ns)} ns (${(raw.ns / pm.ns).toFixed(3)}×${against})`);
    }
  }
  // MPMC across processes, both forms, against postMessage a message per call (the issue's
  // measure of postMessage); and, for a fair view, the batched form against postMessage of arrays.
  const pm32 = ref('oneway', 'threads', 'postMessage', 'str32');
  const pmb32 = ref('oneway', 'threads', 'postMessage-batch', 'str32');
  for (const [t, how] of [['mpmc', 'a message per call'], ['mpmc-batch', 'batched (32 per enqueueBatch, dequeueBatch)']]) {
    const mp = ref('oneway', 'processes', t, 'str32');
    if (mp && pm32 && mp.ns && pm32.ns) goal(`MPMC across processes, ${how}, >= 5x postMessage (a message per call) throughput (str32)`, pm32.ns / mp.ns >= 5, `${(pm32.ns / mp.ns).toFixed(2)}× (${fmt(mp.ns)} vs ${fmt(pm32.ns)} ns)`);
  }
  const mpb = ref('oneway', 'processes', 'mpmc-batch', 'str32');
  if (mpb && pmb32 && mpb.ns && pmb32.ns) goal('(orientation) MPMC across processes, batched, against postMessage of arrays of 32 (str32)', null, `${(pmb32.ns / mpb.ns).toFixed(2)}× (${fmt(mpb.ns)} vs ${fmt(pmb32.ns)} ns)`);
  const ch = ref('pingpong', 'threads', 'channel', 'str32');
  const pis = ref('pingpong', 'threads', 'piscina', 'str32');
  if (ch && pis && ch.ns && pis.ns) goal('Channel request/reply faster than a piscina task round trip (threads)', ch.ns < pis.ns, `${(pis.ns / ch.ns).toFixed(2)}× (${fmt(ch.ns)} vs ${fmt(pis.ns)} ns)`);
  const chp = ref('pingpong', 'processes', 'channel', 'str32');
  const ipc = ref('pingpong', 'processes', 'ipc', 'str32');
  if (chp && ipc && chp.ns && ipc.ns) goal('(orientation) Channel request/reply between processes against a child_process IPC round trip', null, `${fmt(chp.ns)} vs ${fmt(ipc.ns)} ns (${(chp.ns / ipc.ns).toFixed(3)}×)`);
  for (const topology of ['threads', 'processes']) {
    const s = ref('pingpong', topology, 'spsc', 'str32');
    const fx = ref('pingpong', topology, 'futex', 'str32');
    const sp = ref('pingpong', topology, 'spin', 'str32');
    const spin = sp && sp.ns ? `; bare spin round trip ${fmt(sp.ns)} ns` : '';
    if (s && fx && s.ns && fx.ns) goal(`ping-pong (${topology}) within 1.2x of the bare futex round trip`, s.ns <= 1.2 * fx.ns, `${(s.ns / fx.ns).toFixed(2)}× (${fmt(s.ns)} vs ${fmt(fx.ns)} ns${spin})`);
  }
  console.log('\ngoals:');
  for (const g of goals) console.log(`  [${g.met === null ? 'info' : g.met ? 'met' : 'NOT met'}] ${g.text}: ${g.detail}`);
  if (!flag('--no-save') && !only) {
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    const loadavg = require('os').loadavg();
    fs.writeFileSync(RESULTS, `${JSON.stringify({ date, machine: m, loadavg, runs, waitIdle: waitIdleFlag, redis: redisNote, results, ops, goals }, null, 2)}\n`);
    console.log(`\nsaved ${path.relative(process.cwd(), RESULTS)}`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
