/** Test helpers: real databases, whole app instances on real ports, an HTTP client. */
export * from './test-database.js';
export * from './test-app.js';
export * from './http-client.js';
export * from './free-port.js';
export * from './distributed-deployment.js';
export * from './fake-embeddings.server.js';
export * from './fake-rerank.server.js';
export * from './sse-client.js';
export * from './fake-llm.server.js';
export * from './private-redis.js';
export * from './private-postgres.js';
export * from './scifact.js';
export * from './lexical-index-check.js';
export * from './exhaustive-bm25.js';
export * from './office-files.js';
export * from './prometheus-text.js';
export * from './otlp-receiver.js';
