import { z } from 'zod';
import { bool, ConfigError, int, num, optionalString } from './env-parsers.js';
import { ALL_CONTEXTS, ContextName, MULTI_QUERY_MAX } from '#contracts';
import {
  observabilityConfig,
  ObservabilityEnvSchema,
  type ObservabilityConfig,
} from './observability-config.js';
import { securityConfig, SecurityEnvSchema, type SecurityConfig } from './security-config.js';

/**
 * The whole configuration, parsed and validated once at start from the environment. Nothing else in the
 * code base reads process.env: everything receives this typed object (token CONFIG).
 */

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
    VECTOR_INDEX_MIN_CHUNKS: int(0, 100_000_000).default(2000),
    VECTOR_INDEX_BUILD_MEMORY_MB: int(1, 1_048_576).default(1024),
    VECTOR_INDEX_SUSPEND_FOR_DOCUMENTS: int(0, 100_000_000).default(10_000),
    HNSW_EF_SEARCH: int(1, 1000).default(100),
    BM25_K1: num(0, 10).default(0.9),
    BM25_B: num(0, 1).default(0.4),
    LEXICAL_BLOCK_CACHE_MB: int(0, 65_536).default(32),
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

export interface AppConfig {
  http: { port: number; host: string; bodyLimitBytes: number; uploadLimitBytes: number };
  database: {
    url?: string;
    poolSize: number;
    dataDir: string;
    /**
     * Whether this process applies pending migrations at start. Off where a separate step migrates
     * (`ragnest migrate`, the chart's hook Job): the process then refuses to start on an older schema.
     */
    migrate: boolean;
    /** The embedded database's buffer cache (its memory never shrinks once grown). */
    pgliteSharedBuffersMb: number;
  };
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
    /** Bound on embedding a search query; past it the search answers from BM25 alone. */
    queryTimeoutMs: number;
  };
  llm: {
    provider: LlmProvider;
    model?: string;
    baseUrl?: string;
    apiKey?: string;
    /** The output limit, held back from the context window for the answer. */
    maxTokens: number;
    /** The model's context window: the prompt's sources are packed to fit it. */
    contextTokens: number;
    temperature: number;
    /** Bounds a whole model call, retries and streaming included. */
    timeoutMs: number;
    /** Retries of a rate-limited (429), failed (5xx) or unreachable model call. */
    maxRetries: number;
  };
  /** Query expansion by default (a request's `expand` overrides it); it needs `llm.provider` openai. */
  queryUnderstanding: {
    /** Extra phrasings of each question searched beside it; 0 turns multi-query off. */
    multiQuery: number;
    /** Whether a hypothetical answer passage (HyDE) is searched too. */
    hyde: boolean;
  };
  chunking: { size: number; overlap: number };
  /** Fetching `{"url"}` documents, in the ingestion worker. */
  urlIngest: {
    /** Whether loopback, private, link-local and other non-public addresses may be fetched (off: SSRF). */
    allowPrivate: boolean;
    /** Bytes of one response body, past which the fetch fails. */
    maxBytes: number;
    /** Bounds one fetch, redirects and body included. */
    timeoutMs: number;
    maxRedirects: number;
    /** Pages of one sitemap queued as documents; the rest are left out (and said so in its metadata). */
    sitemapMaxUrls: number;
  };
  ingestion: {
    concurrency: number;
    vectorIndexMinChunks: number;
    /** maintenance_work_mem of the session that builds an HNSW index (PostgreSQL only). */
    vectorIndexBuildMemoryMb: number;
    /**
     * Documents waiting in a collection, and at least as many as it has indexed, past which its HNSW index
     * is dropped for the load and built again in one pass when the load is over (0: never).
     */
    vectorIndexSuspendForDocuments: number;
    /**
     * A document queued or processing with no progress for this long is reported as stalled (collection
     * view, readiness, CLI): a stall is visible before a user asks where their document went.
     */
    stallAfterMs: number;
    /** How often the database is compared with the queue, to repair what they disagree on. */
    reconcileEveryMs: number;
    /**
     * How long a pending document may sit untouched before the reconciler checks its queue job: under
     * it, a document is assumed to be on its way (its job being added or picked up).
     */
    requeueAfterMs: number;
  };
  retrieval: {
    efSearch: number;
    bm25: { k1: number; b: number };
    /** Decoded BM25 posting blocks kept in each searching process, in MiB (0: none). */
    lexicalBlockCacheMb: number;
    fusion: 'rrf' | 'score';
    rrfK: number;
    denseWeight: number;
    sparseWeight: number;
    candidates: number;
  };
  /** The re-ranking stage: lexical MMR, or a cross-encoder behind a TEI or Cohere-style rerank API. */
  rerank: {
    provider: 'mmr' | 'tei' | 'cohere';
    /** Required for `tei` and `cohere`. */
    baseUrl?: string;
    /** Required for `cohere`. */
    model?: string;
    apiKey?: string;
    timeoutMs: number;
    /** Fused candidates sent to the model. */
    maxDocuments: number;
  };
  requestTimeoutMs: number;
  callTimeoutMs: number;
  /**
   * The gateway's cache of whole answers; `maxEntries` 0 turns it off. In Redis when `redisUrl` is set,
   * where the age limit alone bounds it; otherwise `maxEntries` per process.
   */
  answerCache: { maxEntries: number; ttlMs: number };
  /** The policy of every call target (a message pattern): its circuit breaker and its bulkhead. */
  resilience: {
    /** Consecutive server-side failures that open a target's circuit. */
    breakerThreshold: number;
    /** How long an open circuit fails fast before one trial call is let through. */
    halfOpenMs: number;
    /** Calls in flight to one target; beyond them calls wait in its queue, and beyond that fail at once. */
    maxConcurrent: number;
    maxQueued: number;
  };
  /** What happens on SIGTERM or SIGINT in a serving process. */
  shutdown: {
    /** How long readiness fails before the HTTP server stops accepting (load balancers catching up). */
    readinessDelayMs: number;
    /** From the signal, the longest the process takes to exit, whatever is still running then. */
    graceMs: number;
  };
  /** How far a serving process's heap may grow past its live objects, in percent (limitHeapGrowth). */
  heapGrowingPercent: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /**
   * API keys (docs/api.md, "Keys and scopes"). On: a request with a key is checked, and one without is
   * served only while no key exists and only from loopback (protected mode). Off: everyone is served.
   */
  auth: {
    enabled: boolean;
    /** How long a gateway trusts what it read about a key; a revoked key stops working within it. */
    keyCacheMs: number;
  };
  /** The HTTP edge: timeouts, CORS, CSP, rate limits, upload bounds (security-config.ts). */
  security: SecurityConfig;
  /** Logs, metrics and traces (observability-config.ts, docs/observability.md). */
  observability: ObservabilityConfig;
}

export const CONFIG = Symbol('AppConfig');

export { ConfigError } from './env-parsers.js';

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

/** The smallest share of the window a prompt needs besides the answer: instructions, question, a source. */
const MIN_PROMPT_TOKENS = 512;

/** What each chat provider needs to start, checked here so a bad setting stops start-up, not a query. */
function checkLlmSettings(e: z.infer<typeof EnvSchema>): void {
  const provider = e.LLM_PROVIDER;
  if (provider === 'extractive') return;
  const needs = (what: string, hint = '') => new ConfigError(`LLM_PROVIDER=${provider} needs ${what}${hint}`);
  if (!e.LLM_MODEL)
    throw needs('LLM_MODEL', ' (the model name, e.g. gpt-4o-mini, claude-sonnet-4-5, llama3.1:8b)');
  const base = e.LLM_BASE_URL;
  if (base !== undefined) {
    if (!/^https?:\/\//i.test(base) || !URL.canParse(base)) {
      throw new ConfigError(`LLM_BASE_URL must be an http(s) URL, got "${base}"`);
    }
    if (provider === 'ollama' && /\/v1\/?$/.test(new URL(base).pathname)) {
      throw new ConfigError(
        'LLM_PROVIDER=ollama speaks the native /api/chat: set LLM_BASE_URL to the server root ' +
          '(e.g. http://localhost:11434), or use LLM_PROVIDER=openai for its /v1 API',
      );
    }
  } else if (provider !== 'ollama' && !e.LLM_API_KEY) {
    // A server of one's own (LLM_BASE_URL) may take no key; the providers' own APIs always do.
    throw needs('LLM_API_KEY', ', or LLM_BASE_URL for a server that takes no key');
  }
  if (provider === 'anthropic' && e.LLM_TEMPERATURE > 1) {
    throw new ConfigError(`LLM_TEMPERATURE must be at most 1 for anthropic, got ${e.LLM_TEMPERATURE}`);
  }
  if (e.LLM_CONTEXT_TOKENS - e.LLM_MAX_TOKENS < MIN_PROMPT_TOKENS) {
    throw new ConfigError(
      `LLM_MAX_TOKENS (${e.LLM_MAX_TOKENS}) leaves less than ${MIN_PROMPT_TOKENS} tokens for the prompt ` +
        `in LLM_CONTEXT_TOKENS (${e.LLM_CONTEXT_TOKENS}): lower it, or raise LLM_CONTEXT_TOKENS to the model's window`,
    );
  }
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
  checkLlmSettings(e);
  if (e.RERANK_PROVIDER !== 'mmr') {
    if (!e.RERANK_BASE_URL) {
      throw new ConfigError(
        `RERANK_PROVIDER=${e.RERANK_PROVIDER} needs RERANK_BASE_URL, the rerank server's root (e.g. http://localhost:8080)`,
      );
    }
    if (!/^https?:\/\//i.test(e.RERANK_BASE_URL) || !URL.canParse(e.RERANK_BASE_URL)) {
      throw new ConfigError(`RERANK_BASE_URL must be an http(s) URL, got "${e.RERANK_BASE_URL}"`);
    }
    if (e.RERANK_PROVIDER === 'cohere' && !e.RERANK_MODEL) {
      throw new ConfigError(
        'RERANK_PROVIDER=cohere needs RERANK_MODEL, the model the server is asked to use',
      );
    }
    if (e.RERANK_TIMEOUT_MS >= e.CALL_TIMEOUT_MS) {
      throw new ConfigError(
        `RERANK_TIMEOUT_MS (${e.RERANK_TIMEOUT_MS}) must be below CALL_TIMEOUT_MS (${e.CALL_TIMEOUT_MS}), which bounds the whole re-rank call`,
      );
    }
  }
  const contexts = parseContexts(e.RAG_CONTEXTS);
  return {
    http: {
      port: e.PORT,
      host: e.HOST,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      uploadLimitBytes: e.UPLOAD_LIMIT_BYTES,
    },
    database: {
      url: e.DATABASE_URL,
      poolSize: e.DATABASE_POOL_SIZE,
      dataDir: e.DATA_DIR,
      migrate: e.DATABASE_MIGRATE,
      pgliteSharedBuffersMb: e.PGLITE_SHARED_BUFFERS_MB,
    },
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
      queryTimeoutMs: e.EMBEDDINGS_QUERY_TIMEOUT_MS,
    },
    llm: {
      provider: e.LLM_PROVIDER,
      model: e.LLM_MODEL,
      baseUrl: e.LLM_BASE_URL,
      apiKey: e.LLM_API_KEY,
      maxTokens: e.LLM_MAX_TOKENS,
      contextTokens: e.LLM_CONTEXT_TOKENS,
      temperature: e.LLM_TEMPERATURE,
      timeoutMs: e.GENERATION_TIMEOUT_MS,
      maxRetries: e.LLM_MAX_RETRIES,
    },
    queryUnderstanding: { multiQuery: e.QUERY_MULTI_QUERY, hyde: e.QUERY_HYDE },
    chunking: { size: e.CHUNK_SIZE, overlap: e.CHUNK_OVERLAP },
    urlIngest: {
      allowPrivate: e.URL_INGEST_ALLOW_PRIVATE,
      maxBytes: e.URL_INGEST_MAX_BYTES,
      timeoutMs: e.URL_INGEST_TIMEOUT_MS,
      maxRedirects: e.URL_INGEST_MAX_REDIRECTS,
      sitemapMaxUrls: e.URL_INGEST_SITEMAP_MAX_URLS,
    },
    ingestion: {
      concurrency: e.INGESTION_CONCURRENCY,
      vectorIndexMinChunks: e.VECTOR_INDEX_MIN_CHUNKS,
      vectorIndexBuildMemoryMb: e.VECTOR_INDEX_BUILD_MEMORY_MB,
      vectorIndexSuspendForDocuments: e.VECTOR_INDEX_SUSPEND_FOR_DOCUMENTS,
      stallAfterMs: e.INGESTION_STALL_AFTER_MS,
      reconcileEveryMs: e.INGESTION_RECONCILE_EVERY_MS,
      requeueAfterMs: e.INGESTION_REQUEUE_AFTER_MS,
    },
    retrieval: {
      efSearch: e.HNSW_EF_SEARCH,
      bm25: { k1: e.BM25_K1, b: e.BM25_B },
      lexicalBlockCacheMb: e.LEXICAL_BLOCK_CACHE_MB,
      fusion: e.HYBRID_FUSION,
      rrfK: e.RRF_K,
      denseWeight: e.HYBRID_DENSE_WEIGHT,
      sparseWeight: e.HYBRID_SPARSE_WEIGHT,
      candidates: e.HYBRID_CANDIDATES,
    },
    rerank: {
      provider: e.RERANK_PROVIDER,
      baseUrl: e.RERANK_BASE_URL,
      model: e.RERANK_MODEL,
      apiKey: e.RERANK_API_KEY,
      timeoutMs: e.RERANK_TIMEOUT_MS,
      maxDocuments: e.RERANK_MAX_DOCUMENTS,
    },
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    callTimeoutMs: e.CALL_TIMEOUT_MS,
    answerCache: { maxEntries: e.ANSWER_CACHE_SIZE, ttlMs: e.ANSWER_CACHE_TTL_MS },
    resilience: {
      breakerThreshold: e.BREAKER_THRESHOLD,
      halfOpenMs: e.BREAKER_HALF_OPEN_MS,
      maxConcurrent: e.BULKHEAD_MAX_CONCURRENT,
      maxQueued: e.BULKHEAD_MAX_QUEUED,
    },
    shutdown: { readinessDelayMs: e.SHUTDOWN_READINESS_DELAY_MS, graceMs: e.SHUTDOWN_GRACE_MS },
    heapGrowingPercent: e.HEAP_GROWING_PERCENT,
    logLevel: e.LOG_LEVEL,
    auth: { enabled: e.AUTH === 'on', keyCacheMs: e.AUTH_KEY_CACHE_MS },
    security: securityConfig(e),
    observability: observabilityConfig(e),
  };
}
