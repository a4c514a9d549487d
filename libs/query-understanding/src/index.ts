/** Query understanding's public surface. Callers reach it through QUERY_UNDERSTANDING_PORT. */
export { QueryUnderstandingModule } from './query-understanding.module.js';
