import type { ContextName } from '#contracts';
import type { ObservabilityConfig } from './observability-config.js';
import type { SecurityConfig } from './security-config.js';
import type { LlmProvider } from './env-schema.js';

/**
 * The whole configuration, parsed and validated once at start from the environment. Nothing else in the
 * code base reads process.env: everything receives this typed object (token CONFIG).
 */
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
    /** BM25 posting blocks (their encoded bytes) kept in each searching process, in MiB (0: none). */
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
