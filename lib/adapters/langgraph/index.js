'use strict';
// `require('shmstore/langgraph')`: LangGraph's checkpointer and long-term memory store over a
// shmstore Store (docs/api.md, LangGraph), built on the CommonJS copy of
// @langchain/langgraph-checkpoint. `import` gets index.mjs: the same classes on its ES module copy.
const { requirePeer } = require('../peer');
const { defineSaver } = require('./saver');
const { defineStore } = require('./item-store');

const lg = requirePeer('@langchain/langgraph-checkpoint', 'langgraph');

module.exports = { ShmstoreSaver: defineSaver(lg), ShmstoreStore: defineStore(lg) };
