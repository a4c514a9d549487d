/** Retrieval's public surface: its module. Callers reach it through RETRIEVAL_PORT. */
export { RetrievalModule } from './retrieval.module.js';
export { reciprocalRankFusion } from './domain/fusion.js';
export { compileFilter } from './infrastructure/filter-sql.js';
