/** Retrieval's public surface: its module. Callers reach it through RETRIEVAL_PORT. */
export { RetrievalModule } from './retrieval.module.js';
