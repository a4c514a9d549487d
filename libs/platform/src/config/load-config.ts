import { totalmem } from 'node:os';
import type { z } from 'zod';
import { ALL_CONTEXTS, ContextName } from '#contracts';
import { type AppConfig, ConfigError } from './app-config.js';
import { EnvSchema } from './env-schema.js';
import { observabilityConfig } from './observability-config.js';
import { securityConfig } from './security-config.js';

/*
 * loadConfig: the environment parsed against EnvSchema, settings that depend on each other checked (a bad
 * one stops start-up, not a request), and the result shaped into the one AppConfig.
 */

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

/** A collection's vectors from which its HNSW index is built, on PostgreSQL (VECTOR_INDEX_MIN_CHUNKS). */
const VECTOR_INDEX_MIN_CHUNKS = 2000;
/**
 * The same on PGlite, higher: its one session runs the build as one statement, during which no request can
 * read the database (10k 384-d vectors: 20 s, so a collection read waited out its 10 s deadline and answered
 * 504), while an exact scan there stays cheap (22 ms a query at 20k vectors, 57 ms at 40k; see docs/configuration.md).
 */
const PGLITE_VECTOR_INDEX_MIN_CHUNKS = 50_000;

/**
 * The BM25 block cache's size when LEXICAL_BLOCK_CACHE_MB is unset: an eighth of the memory this process
 * may use (its cgroup's limit when it has one, as in a container, else the machine's), from 32 to 256 MiB.
 * Its pages are allocated only as blocks are read, so a small collection's process never holds it all;
 * 256 MiB holds the hot blocks of 1M chunks (docs/configuration.md).
 */
export function defaultBlockCacheMb(
  limitBytes = Math.min(process.constrainedMemory?.() || Infinity, totalmem()),
): number {
  return Math.min(256, Math.max(32, Math.floor(limitBytes / 8 / 2 ** 20)));
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

/**
 * The environment with its blank variables left out: a blank variable is unset, as in .env.example (an env
 * file or a compose file passes `NAME=` as an empty string, which z.coerce.number would read as 0).
 */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => !!entry[1]?.trim()),
  );
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(withoutBlanks(env));
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
      vectorIndexMinChunks:
        e.VECTOR_INDEX_MIN_CHUNKS ??
        (e.DATABASE_URL ? VECTOR_INDEX_MIN_CHUNKS : PGLITE_VECTOR_INDEX_MIN_CHUNKS),
      vectorIndexBuildMemoryMb: e.VECTOR_INDEX_BUILD_MEMORY_MB,
      vectorIndexSuspendForDocuments: e.VECTOR_INDEX_SUSPEND_FOR_DOCUMENTS,
      stallAfterMs: e.INGESTION_STALL_AFTER_MS,
      reconcileEveryMs: e.INGESTION_RECONCILE_EVERY_MS,
      requeueAfterMs: e.INGESTION_REQUEUE_AFTER_MS,
    },
    retrieval: {
      efSearch: e.HNSW_EF_SEARCH,
      bm25: { k1: e.BM25_K1, b: e.BM25_B },
      lexicalBlockCacheMb: e.LEXICAL_BLOCK_CACHE_MB ?? defaultBlockCacheMb(),
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
