'use strict';
// The preludes of the `##` sections of docs/api.md, for its examples test
// (test/00-repo/api-examples.test.js): what the section's examples take as given (`html`, a
// helper `handle(m)`, a queue `q`, ...). A prelude's names are in scope for every block of its
// section. ctx.shm(name) is the segment name the examples' `name` becomes; ctx.track(x) has x
// closed with the section; ctx.cleanups run when the section ends, ctx.unblock also when a block
// fails (run.js).
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const shmstore = require('../../..');
const { startRedis } = require('../redis-server');

const { Segment, Store, MpmcQueue } = shmstore;

const SECTIONS = {
  Store: {
    prelude: (ctx) => {
      fs.writeFileSync(path.join(ctx.tmp, 'model.bin'), crypto.randomBytes(100000));
      return {
        fs,
        html: '<!doctype html><title>home</title>',
        myShareOfTheUpdates: [['u1', { cart: [] }], ['u2', { cart: ['tea'] }]],
      };
    },
  },
  Persistence: {
    prelude: () => ({ batch: [['k1', 1], ['k2', { v: 2 }]] }),
  },
  futex: {
    prelude: (ctx) => {
      // The segment of the Segment section's examples, which the processes A and B open.
      const seg = ctx.track(Segment.create({ name: ctx.shm('my-app.state'), size: 4096 }));
      const flag = new Int32Array(seg.buffer);
      // A futex.wait without a timeout holds its worker until a wake, even against terminate().
      ctx.unblock.push(() => {
        Atomics.store(flag, 0, 1);
        shmstore.futex.wake(flag, 0);
      });
      return { flag };
    },
  },
  'Sync objects: RwLock, Condition, Semaphore, Barrier, WaitGroup': {
    prelude: () => {
      const ready = new Int32Array(new SharedArrayBuffer(4)); // the job the condition waits for
      return {
        readyWord: ready,
        jobReady: () => Atomics.load(ready, 0) === 1,
        setJobReady: () => Atomics.store(ready, 0, 1),
        shutdown: false,
        signal: new AbortController().signal,
        part: 0,
        workers: ['w1', 'w2', 'w3'],
      };
    },
  },
  SpscRing: {
    prelude: () => ({ lines: ['one', 'two', 'three'] }),
  },
  MpmcQueue: {
    prelude: () => ({ rows: [{ id: 1 }, { id: 2 }, { id: 3 }], lines: ['one', 'two', 'three'] }),
  },
  Channel: {
    prelude: async (ctx) => {
      // The queue 'jobs' of the MpmcQueue section, whose latency the last example reads; its
      // workers posted the snapshot of a handle that waited for a message.
      const jobs = ctx.track(MpmcQueue.create({ name: ctx.shm('jobs'), capacity: 16 }));
      const worker = ctx.track(MpmcQueue.open({ name: ctx.shm('jobs') }).enableLatency());
      jobs.enqueue('job');
      await worker.dequeueAsync();
      return {
        rows: [{ id: 1 }, { id: 2 }],
        more: Array.from({ length: 100 }, (_, i) => ({ id: i })),
        snapshotsFromWorkers: [worker.latency()],
      };
    },
  },
  BufferPool: {
    prelude: () => ({
      payload: Buffer.from('payload'),
      length: 5,
      readFrameInto: (view) => {
        view.set(Buffer.from('frame'));
        return 5;
      },
    }),
  },
  ObjectPool: {
    prelude: (ctx) => ({ x: 1.5, y: -2.5, q: ctx.track(MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16)), capacity: 16 })) }),
  },
  MemoryPool: {
    prelude: (ctx) => ({
      bytes: crypto.randomBytes(1500),
      q: ctx.track(MpmcQueue.create({ buffer: new SharedArrayBuffer(MpmcQueue.bytesFor(16)), capacity: 16 })),
    }),
  },
  layout: {
    prelude: (ctx) => {
      const store = ctx.track(Store.create({ name: ctx.shm('layout-store'), size: 1 << 20 }));
      store.setMany('n', [['a', 1], ['b', 2], ['c', 3]]);
      return { store };
    },
  },
  LangGraph: {
    prelude: () => {
      const { Annotation, StateGraph } = require('@langchain/langgraph');
      const { emptyCheckpoint } = require('@langchain/langgraph-checkpoint');
      const State = Annotation.Root({ messages: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }) });
      const callModel = async (state) => ({ messages: [`answer ${state.messages.length}`] });
      const checkpoint = { ...emptyCheckpoint(), channel_values: { messages: ['hi'] }, channel_versions: { messages: 2 } };
      return {
        State,
        callModel,
        input: { messages: ['hello'] },
        builder: new StateGraph(State).addNode('agent', callModel).addEdge('__start__', 'agent'),
        config: { configurable: { thread_id: 'user-42', checkpoint_ns: '' } },
        checkpoint,
        reply: 'hello to you',
        taskId: 'task-1',
      };
    },
  },
  Metrics: {
    prelude: (ctx) => {
      const { Registry } = require('prom-client');
      const setup = ctx.track(Store.create({ name: ctx.shm('app-cache'), size: 1 << 20 }));
      setup.set('sessions', 'u1', { user: 1 });
      // The last example's: every process's handle with latency, and a registry of its own.
      return { store: ctx.track(Store.open({ name: ctx.shm('app-cache'), latency: true })), registry: new Registry() };
    },
  },
  'Keyv adapter': {
    prelude: async (ctx) => {
      ctx.redis = await startRedis();
      ctx.cleanups.push(() => ctx.redis.stop());
      return { db: { user: async (id) => ({ id, name: `user ${id}` }) } };
    },
  },
};

module.exports = { SECTIONS };
