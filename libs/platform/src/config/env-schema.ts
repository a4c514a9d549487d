import { z } from 'zod';
import { MULTI_QUERY_MAX } from '#contracts';
import { bool, int, num, optionalString } from './env-parsers.js';
import { ObservabilityEnvSchema } from './observability-config.js';
import { SecurityEnvSchema } from './security-config.js';

/** The environment variables ragnest reads, each with its bounds and default (loadConfig parses them once). */

/** `extractive` is local and model-free; the others are chat models reached over HTTP. */
export const LLM_PROVIDERS = ['extractive', 'openai', 'anthropic', 'ollama'] as const;
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

export const EnvSchema = z
  .object({
    PORT: int(0, 65535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    DATABASE_URL: optionalString,
    DATABASE_POOL_SIZE: int(1, 200).default(10),
    DATABASE_MIGRATE: bool.default(true),
    DATA_DIR: z.string().default('./data'),
    PGLITE_SHARED_BUFFERS_MB: int(1, 65_536).default(32),
    REDIS_URL: optionalString,
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
      .default('ragnest'),
    RAG_CONTEXTS: z.string().default('all'),
    EMBEDDINGS_PROVIDER: z.enum(['hashing', 'openai']).default('hashing'),
    EMBEDDINGS_MODEL: optionalString,
    EMBEDDINGS_BASE_URL: optionalString,
    EMBEDDINGS_API_KEY: optionalString,
    EMBEDDINGS_DIMENSIONS: int(8, 16000).optional(),
    EMBEDDINGS_BATCH_SIZE: int(1, 4096).default(256),
    EMBEDDINGS_MAX_RETRIES: int(0, 20).default(2),
    EMBEDDINGS_QUERY_TIMEOUT_MS: int(10, 600_000).default(2000),
    LLM_PROVIDER: z.enum(LLM_PROVIDERS).default('extractive'),
    LLM_MODEL: optionalString,
    LLM_BASE_URL: optionalString,
    LLM_API_KEY: optionalString,
    LLM_MAX_TOKENS: int(16, 100_000).default(1024),
    LLM_CONTEXT_TOKENS: int(1024, 10_000_000).default(8192),
    LLM_MAX_RETRIES: int(0, 20).default(2),
    LLM_TEMPERATURE: num(0, 2).default(0),
    QUERY_MULTI_QUERY: int(0, MULTI_QUERY_MAX).default(0),
    QUERY_HYDE: bool.default(false),
    CHUNK_SIZE: int(100, 100_000).default(1000),
    CHUNK_OVERLAP: int(0, 50_000).default(150),
    INGESTION_CONCURRENCY: int(1, 64).default(2),
    INGESTION_STALL_AFTER_MS: int(1_000, 7 * 24 * 3_600_000).default(120_000),
    INGESTION_RECONCILE_EVERY_MS: int(100, 3_600_000).default(10_000),
    INGESTION_REQUEUE_AFTER_MS: int(100, 24 * 3_600_000).default(30_000),
    // Unset: 2,000 on PostgreSQL, PGLITE_VECTOR_INDEX_MIN_CHUNKS on PGlite (load-config).
    VECTOR_INDEX_MIN_CHUNKS: int(0, 100_000_000).optional(),
    VECTOR_INDEX_BUILD_MEMORY_MB: int(1, 1_048_576).default(1024),
    VECTOR_INDEX_SUSPEND_FOR_DOCUMENTS: int(0, 100_000_000).default(10_000),
    HNSW_EF_SEARCH: int(1, 1000).default(100),
    BM25_K1: num(0, 10).default(0.9),
    BM25_B: num(0, 1).default(0.4),
    // Unset: an eighth of the process's memory, 32 to 256 MiB (load-config).
    LEXICAL_BLOCK_CACHE_MB: int(0, 65_536).optional(),
    HYBRID_FUSION: z.enum(['rrf', 'score']).default('score'),
    RRF_K: int(1, 1000).default(60),
    HYBRID_DENSE_WEIGHT: num(0, 10).default(0.15),
    HYBRID_SPARSE_WEIGHT: num(0, 10).default(1),
    HYBRID_CANDIDATES: int(10, 1000).default(50),
    RERANK_PROVIDER: z.enum(['mmr', 'tei', 'cohere']).default('mmr'),
    RERANK_BASE_URL: optionalString,
    RERANK_MODEL: optionalString,
    RERANK_API_KEY: optionalString,
    RERANK_TIMEOUT_MS: int(10, 600_000).default(5000),
    RERANK_MAX_DOCUMENTS: int(1, 1000).default(50),
    BODY_LIMIT_BYTES: int(1024, 1024 ** 3).default(10 * 1024 * 1024),
    UPLOAD_LIMIT_BYTES: int(1024, 1024 ** 3).default(50 * 1024 * 1024),
    REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(120_000),
    CALL_TIMEOUT_MS: int(10, 600_000).default(10_000),
    GENERATION_TIMEOUT_MS: int(10, 600_000).default(60_000),
    ANSWER_CACHE_SIZE: int(0, 1_000_000).default(1000),
    ANSWER_CACHE_TTL_MS: int(1, 7 * 24 * 3_600_000).default(300_000),
    BREAKER_THRESHOLD: int(1, 1000).default(5),
    BREAKER_HALF_OPEN_MS: int(10, 3_600_000).default(5000),
    BULKHEAD_MAX_CONCURRENT: int(1, 100_000).default(64),
    BULKHEAD_MAX_QUEUED: int(0, 1_000_000).default(256),
    SHUTDOWN_READINESS_DELAY_MS: int(0, 600_000).default(2000),
    SHUTDOWN_GRACE_MS: int(100, 3_600_000).default(30_000),
    HEAP_GROWING_PERCENT: int(0, 1000).default(50),
    LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
    AUTH: z.enum(['on', 'off']).default('on'),
    AUTH_KEY_CACHE_MS: int(0, 60_000).default(500),
    URL_INGEST_ALLOW_PRIVATE: bool.default(false),
    URL_INGEST_MAX_BYTES: int(1024, 1024 ** 3).default(20 * 1024 * 1024),
    URL_INGEST_TIMEOUT_MS: int(100, 600_000).default(20_000),
    URL_INGEST_MAX_REDIRECTS: int(0, 20).default(5),
    URL_INGEST_SITEMAP_MAX_URLS: int(1, 100_000).default(1000),
  })
  .extend(SecurityEnvSchema.shape)
  .extend(ObservabilityEnvSchema.shape);
