'use strict';
// A LangGraph agent whose conversation threads (the checkpointer) and long-term memories (the
// store) live in one shmstore store shared by worker threads. Each worker runs its own
// conversation for a few turns; every turn resumes the thread from its last checkpoint and
// records a memory. The main thread then reads every conversation and every memory back with
// its own graph, from the same bytes. The agent's "model" is a plain function, so the example
// runs offline.
//
//   node examples/langgraph-agent.js [workers] [turns]
//
// In your project: require('shmstore') and require('shmstore/langgraph') instead of the paths.
const { Worker, isMainThread, workerData, parentPort } = require('worker_threads');
const { StateGraph, Annotation, START, END } = require('@langchain/langgraph');
const { Store } = require('..');
const { ShmstoreSaver, ShmstoreStore } = require('../lib/adapters/langgraph');

const State = Annotation.Root({
  messages: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

// One agent step: answers the last message, and remembers what the user said.
async function agent(state, config) {
  const user = config.configurable.thread_id;
  const last = state.messages[state.messages.length - 1];
  const turn = state.messages.filter((m) => m.startsWith('user:')).length;
  await config.store.put(['memories', user], `turn-${turn}`, { said: last, turn });
  return { messages: [`agent: noted "${last.slice(6)}" (turn ${turn})`] };
}

function buildGraph(buffer) {
  const store = Store.attach(buffer);
  const checkpointer = new ShmstoreSaver(store);
  const memory = new ShmstoreStore(store);
  const graph = new StateGraph(State).addNode('agent', agent).addEdge(START, 'agent').addEdge('agent', END)
    .compile({ checkpointer, store: memory });
  return { store, checkpointer, memory, graph };
}

async function main() {
  const workers = Number(process.argv[2] || 3);
  const turns = Number(process.argv[3] || 4);
  const buffer = new SharedArrayBuffer(32 << 20);
  Store.create({ buffer }).close();
  await Promise.all(Array.from({ length: workers }, (_, id) => new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: { buffer, user: `user-${id}`, turns } });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${id} exited with ${code}`))));
  })));
  const { store, checkpointer, memory, graph } = buildGraph(buffer);
  const conversations = {};
  for (let id = 0; id < workers; id++) {
    const state = await graph.getState({ configurable: { thread_id: `user-${id}` } });
    conversations[`user-${id}`] = state.values.messages.length;
  }
  const threads = new Set();
  let checkpoints = 0;
  for await (const tuple of checkpointer.list({})) {
    threads.add(tuple.config.configurable.thread_id);
    checkpoints++;
  }
  const memories = (await memory.search(['memories'], { limit: 1000 })).length;
  const users = (await memory.listNamespaces({ prefix: ['memories'] })).length;
  console.log(JSON.stringify({ workers, turns, conversations, threads: threads.size, checkpoints, memories, users, verify: store.verify().ok }));
  store.close();
}

async function worker() {
  const { graph, store } = buildGraph(workerData.buffer);
  for (let t = 1; t <= workerData.turns; t++) {
    await graph.invoke({ messages: [`user: message ${t} from ${workerData.user}`] }, { configurable: { thread_id: workerData.user } });
  }
  store.close();
  parentPort.close();
}

(isMainThread ? main() : worker()).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
