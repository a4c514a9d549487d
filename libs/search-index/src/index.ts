/**
 * The search index's shared kernel: how chunks are stored for search, written by ingestion and read by
 * retrieval. For now it holds the lexical (BM25) index: compressed posting blocks with block-max
 * bounds, their writer, merger and exact top-k reader.
 */
export * from './lexical/posting-block.js';
export * from './lexical/block-max-top-k.js';
export * from './lexical/lexical-index.store.js';
export * from './lexical/lexical-index.js';
export * from './fusion/fusion.js';
