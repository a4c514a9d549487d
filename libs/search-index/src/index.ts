/**
 * The search index's shared kernel: how chunks are stored for search, written by ingestion and read by
 * retrieval. It holds the lexical (BM25) index (compressed posting blocks with block-max bounds, their
 * writer, merger and exact top-k reader), the per-embedding-set vector index (its HNSW DDL and the SQL
 * that lets the planner use it) and the fusion of the two legs.
 */
export * from './lexical/posting-block.js';
export * from './lexical/block-max-top-k.js';
export * from './lexical/lexical-index.store.js';
export * from './lexical/lexical-index.js';
export { SegmentDictionaries } from './lexical/segment-dictionaries.js';
export { HeaderCache } from './lexical/header-cache.js';
export * from './fusion/fusion.js';
export {
  buildVectorIndex,
  dropVectorIndex,
  toVectorLiteral,
  vectorDistanceSql,
  vectorOrderSql,
  vectorSetSql,
  type VectorIndexPrecision,
} from './vector/vector-index.js';
