import { z } from 'zod';
import { ALL_CONTEXTS, ContextName } from '#contracts';

/**
 * The whole configuration, parsed and validated once at start from the environment. Nothing else in the
 * code base reads process.env: everything receives this typed object (token CONFIG).
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const EnvSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: optionalString,
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  DATA_DIR: z.string().default('./data'),
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
  LLM_PROVIDER: z.enum(['extractive', 'openai']).default('extractive'),
  LLM_MODEL: optionalString,
  LLM_BASE_URL: optionalString,
  LLM_API_KEY: optionalString,
  LLM_MAX_TOKENS: int(16, 100_000).default(1024),
  LLM_TEMPERATURE: num(0, 2).default(0),
  CHUNK_SIZE: int(100, 100_000).default(1000),
  CHUNK_OVERLAP: int(0, 50_000).default(150),
  INGESTION_CONCURRENCY: int(1, 64).default(2),
  VECTOR_INDEX_MIN_CHUNKS: int(0, 100_000_000).default(2000),
  HNSW_EF_SEARCH: int(1, 1000).default(100),
  BM25_K1: num(0, 10).default(0.9),
  BM25_B: num(0, 1).default(0.4),
  HYBRID_FUSION: z.enum(['rrf', 'score']).default('score'),
  RRF_K: int(1, 1000).default(60),
  HYBRID_DENSE_WEIGHT: num(0, 10).default(0.15),
  HYBRID_SPARSE_WEIGHT: num(0, 10).default(1),
  HYBRID_CANDIDATES: int(10, 1000).default(50),
  BODY_LIMIT_BYTES: int(1024, 1024 ** 3).default(10 * 1024 * 1024),
  UPLOAD_LIMIT_BYTES: int(1024, 1024 ** 3).default(50 * 1024 * 1024),
  REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(120_000),
  CALL_TIMEOUT_MS: int(10, 600_000).default(10_000),
  GENERATION_TIMEOUT_MS: int(10, 600_000).default(60_000),
  ANSWER_CACHE_SIZE: int(0, 1_000_000).default(1000),
  ANSWER_CACHE_TTL_MS: int(1, 7 * 24 * 3_600_000).default(300_000),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
});

export interface AppConfig {
  http: { port: number; host: string; bodyLimitBytes: number; uploadLimitBytes: number };
  database: { url?: string; poolSize: number; dataDir: string };
  redisUrl?: string;
  /** Prefix of every Redis key and channel, so deployments can share one Redis. */
  redisPrefix: string;
  contexts: ReadonlySet<ContextName>;
  embeddings: {
    provider: 'hashing' | 'openai';
    model?: string;
    baseUrl?: string;
    apiKey?: string;
    /** Unset for `openai`: learned from the model at start. */
    dimensions?: number;
    batchSize: number;
    /** Retries inside one embedding call; beyond them the document is retried later by the queue. */
    maxRetries: number;
  };
  llm: {
    provider: 'extractive' | 'openai';
    model?: string;
    baseUrl?: string;
    apiKey?: string;
    maxTokens: number;
    temperature: number;
    timeoutMs: number;
  };
  chunking: { size: number; overlap: number };
  ingestion: { concurrency: number; vectorIndexMinChunks: number };
  retrieval: {
    efSearch: number;
    bm25: { k1: number; b: number };
    fusion: 'rrf' | 'score';
    rrfK: number;
    denseWeight: number;
    sparseWeight: number;
    candidates: number;
  };
  requestTimeoutMs: number;
  callTimeoutMs: number;
  /** The gateway's cache of whole answers; `maxEntries` 0 turns it off. */
  answerCache: { maxEntries: number; ttlMs: number };
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
}

export const CONFIG = Symbol('AppConfig');

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseContexts(value: string): ReadonlySet<ContextName> {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new ConfigError('RAG_CONTEXTS is empty: name at least one context, or "all"');
  if (names.length === 1 && names[0] === 'all') return new Set(ALL_CONTEXTS);
  const unknown = names.filter((n) => !ALL_CONTEXTS.includes(n as ContextName));
  if (unknown.length > 0) {
    throw new ConfigError(
      `RAG_CONTEXTS names unknown context(s): ${unknown.join(', ')}. Known: all, ${ALL_CONTEXTS.join(', ')}`,
    );
  }
  return new Set(names as ContextName[]);
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.CHUNK_OVERLAP >= e.CHUNK_SIZE) {
    throw new ConfigError(
      `CHUNK_OVERLAP (${e.CHUNK_OVERLAP}) must be smaller than CHUNK_SIZE (${e.CHUNK_SIZE})`,
    );
  }
  if (e.EMBEDDINGS_PROVIDER === 'openai' && !e.EMBEDDINGS_MODEL) {
    throw new ConfigError('EMBEDDINGS_PROVIDER=openai needs EMBEDDINGS_MODEL');
  }
  if (e.LLM_PROVIDER === 'openai' && !e.LLM_MODEL) {
    throw new ConfigError('LLM_PROVIDER=openai needs LLM_MODEL');
  }
  const contexts = parseContexts(e.RAG_CONTEXTS);
  return {
    http: {
      port: e.PORT,
      host: e.HOST,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      uploadLimitBytes: e.UPLOAD_LIMIT_BYTES,
    },
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, dataDir: e.DATA_DIR },
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    contexts,
    embeddings: {
      provider: e.EMBEDDINGS_PROVIDER,
      model: e.EMBEDDINGS_MODEL,
      baseUrl: e.EMBEDDINGS_BASE_URL,
      apiKey: e.EMBEDDINGS_API_KEY,
      dimensions: e.EMBEDDINGS_DIMENSIONS,
      batchSize: e.EMBEDDINGS_BATCH_SIZE,
      maxRetries: e.EMBEDDINGS_MAX_RETRIES,
    },
    llm: {
      provider: e.LLM_PROVIDER,
      model: e.LLM_MODEL,
      baseUrl: e.LLM_BASE_URL,
      apiKey: e.LLM_API_KEY,
      maxTokens: e.LLM_MAX_TOKENS,
      temperature: e.LLM_TEMPERATURE,
      timeoutMs: e.GENERATION_TIMEOUT_MS,
    },
    chunking: { size: e.CHUNK_SIZE, overlap: e.CHUNK_OVERLAP },
    ingestion: { concurrency: e.INGESTION_CONCURRENCY, vectorIndexMinChunks: e.VECTOR_INDEX_MIN_CHUNKS },
    retrieval: {
      efSearch: e.HNSW_EF_SEARCH,
      bm25: { k1: e.BM25_K1, b: e.BM25_B },
      fusion: e.HYBRID_FUSION,
      rrfK: e.RRF_K,
      denseWeight: e.HYBRID_DENSE_WEIGHT,
      sparseWeight: e.HYBRID_SPARSE_WEIGHT,
      candidates: e.HYBRID_CANDIDATES,
    },
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    callTimeoutMs: e.CALL_TIMEOUT_MS,
    answerCache: { maxEntries: e.ANSWER_CACHE_SIZE, ttlMs: e.ANSWER_CACHE_TTL_MS },
    logLevel: e.LOG_LEVEL,
  };
}
