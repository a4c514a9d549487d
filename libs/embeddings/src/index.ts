/**
 * Embeddings: the embedder chosen by EMBEDDINGS_PROVIDER (OpenAI-compatible or the built-in hashing one),
 * shared by ingestion (documents) and retrieval (queries), and the registry of the models collections
 * were filled with before.
 */
export { type Embedder, assertVectorSize, transientFailure } from './embedder.js';
export { EMBEDDERS, EmbedderRegistry } from './embedder-registry.js';
export { EmbeddingsModule } from './embeddings.module.js';
export { HashingEmbedder } from './hashing.embedder.js';
