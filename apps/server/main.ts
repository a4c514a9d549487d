import { loadConfig } from '#platform';
import { serve } from './src/bootstrap.js';

/** The single binary: every context in one process unless RAG_CONTEXTS says otherwise. */
serve(loadConfig()).catch((error: Error) => {
  console.error(`ragnest failed to start: ${error.message}`);
  process.exit(1);
});
