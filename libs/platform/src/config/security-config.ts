import { z } from 'zod';
import { bool, int, list } from './env-parsers.js';

/**
 * The HTTP edge's limits, parsed with the rest of the configuration (EnvSchema extends this shape):
 * timeouts, CORS, the Content-Security-Policy, rate limits and upload bounds. docs/security.md explains
 * each default; docs/configuration.md and .env.example list them.
 */

export const SecurityEnvSchema = z.object({
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  HTTP_BODY_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  CORS_ORIGINS: list,
  CONTENT_SECURITY_POLICY: z.string().optional(),
  RATE_LIMIT: bool.default(true),
  RATE_LIMIT_WINDOW_MS: int(1000, 24 * 3_600_000).default(60_000),
  RATE_LIMIT_SEARCH: int(1, 1_000_000_000).default(60_000),
  RATE_LIMIT_QUERY: int(1, 1_000_000_000).default(12_000),
  RATE_LIMIT_INGESTION: int(1, 1_000_000_000).default(6_000),
  UPLOAD_REQUEST_LIMIT_BYTES: int(1024, 64 * 1024 ** 3).default(1024 ** 3),
  UPLOAD_MAX_FILES: int(1, 10_000).default(100),
  UPLOAD_MAX_CONCURRENT: int(1, 10_000).default(4),
  UPLOAD_TMP_DIR: z.string().optional(),
});

/** The budgets requests draw from; each route names one (the @RateLimit decorator). */
export const RATE_LIMIT_BUDGETS = ['search', 'query', 'ingestion'] as const;
export type RateLimitBudget = (typeof RATE_LIMIT_BUDGETS)[number];

export interface SecurityConfig {
  /** Node's headersTimeout: the whole header block must arrive within it (slow headers). */
  headersTimeoutMs: number;
  /** From the headers to the body's last byte; past it the request is answered 408 (slow bodies). */
  bodyTimeoutMs: number;
  /** Origins allowed to call the API from a browser; none by default, `*` for any. */
  corsOrigins: readonly string[];
  /** Overrides the default Content-Security-Policy (security-headers.ts) as a whole. */
  contentSecurityPolicy?: string;
  /** Requests per window for each budget, per API key (per client address without one); null: off. */
  rateLimit: { windowMs: number; budgets: Record<RateLimitBudget, number> } | null;
  uploads: {
    /** The whole multipart request, every file and field together. */
    requestLimitBytes: number;
    maxFiles: number;
    /** Multipart uploads received at once by this process; more get 503 with Retry-After. */
    maxConcurrent: number;
    /** Where uploads are spooled while received (removed once handed on); the OS temp dir by default. */
    tmpDir?: string;
  };
}

export function securityConfig(e: z.infer<typeof SecurityEnvSchema>): SecurityConfig {
  return {
    headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: e.HTTP_BODY_TIMEOUT_MS,
    corsOrigins: e.CORS_ORIGINS,
    contentSecurityPolicy: e.CONTENT_SECURITY_POLICY?.trim() || undefined,
    rateLimit: e.RATE_LIMIT
      ? {
          windowMs: e.RATE_LIMIT_WINDOW_MS,
          budgets: {
            search: e.RATE_LIMIT_SEARCH,
            query: e.RATE_LIMIT_QUERY,
            ingestion: e.RATE_LIMIT_INGESTION,
          },
        }
      : null,
    uploads: {
      requestLimitBytes: e.UPLOAD_REQUEST_LIMIT_BYTES,
      maxFiles: e.UPLOAD_MAX_FILES,
      maxConcurrent: e.UPLOAD_MAX_CONCURRENT,
      tmpDir: e.UPLOAD_TMP_DIR?.trim() || undefined,
    },
  };
}
