// The runner of the LangGraph checkpointer validation suite (`npm run test:langgraph`, chained
// into `npm test`): @langchain/langgraph-checkpoint-validation is written for vitest, with its
// describe/it/expect as globals.
import { fileURLToPath } from 'node:url';

export default {
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/90-adapters/*.vitest.mjs'],
    globals: true,
    testTimeout: 60000,
    hookTimeout: 60000,
    pool: 'forks',
  },
};
