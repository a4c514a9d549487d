/**
 * Platform: configuration, the request context and its envelope, the database, resilience, the HTTP
 * plumbing (validation, the exception filter, the edge, rate limits) and the readiness-report port.
 */
export * from './config/app-config.js';
export * from './config/security-config.js';
export * from './context/request-context.js';
export * from './database/data-source.factory.js';
export { DataDirLockedError, LOCK_FILE } from './database/data-dir.lock.js';
export * from './database/database.module.js';
export * from './context/envelope.js';
export * from './resilience/resilience.service.js';
export { PlatformModule } from './platform.module.js';
export * from './http/zod-validation.pipe.js';
export * from './http/app-exception.filter.js';
export * from './http/error-body.js';
export { serializeError } from './errors/serialize-error.js';
export * from './health/readiness-report.js';
export * from './runtime/heap-growth.js';
export * from './database/database-input-error.js';
export * from './http/http-edge.js';
export * from './http/security-headers.js';
export * from './http/rate-limit.js';
export * from './observability/observability.module.js';
export * from './observability/metrics/metrics.service.js';
export type { QueryStage, RetrievalLeg, AnswerCacheOutcome } from './observability/metrics/query.metrics.js';
export type { CallOutcome } from './observability/metrics/transport.metrics.js';
export type { DocumentOutcome, QueueState } from './observability/metrics/ingestion.metrics.js';
export { Tracing, SpanKind, traceIdOf, type TracingOptions } from './observability/tracing/tracing.js';
export { requestTraceparent } from './observability/tracing/request-traceparent.js';
export { createRootLogger, JsonLogger, type LogFormat } from './observability/logging/json-logger.js';
export { accessLog, routeOf } from './observability/logging/access-log.js';
