// `import { ShmstoreSaver, ShmstoreStore } from 'shmstore/langgraph'`: the classes of index.js
// made from the ES module copy of @langchain/langgraph-checkpoint, the copy an ES module
// application's graph uses (a class of the other copy would not share its base class).
import * as lg from '@langchain/langgraph-checkpoint';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { defineSaver } = require('./saver.js');
const { defineStore } = require('./item-store.js');

export const ShmstoreSaver = defineSaver(lg);
export const ShmstoreStore = defineStore(lg);
