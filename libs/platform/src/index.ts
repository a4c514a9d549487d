/** Platform: configuration, database, the cross-context caller and transports, resilience, HTTP plumbing. */
export * from './config/app-config.js';
export * from './config/security-config.js';
export * from './context/request-context.js';
export * from './database/data-source.factory.js';
export { DataDirLockedError, LOCK_FILE } from './database/data-dir.lock.js';
export * from './database/database.module.js';
export * from './context/envelope.js';
export * from './messaging/context-caller.js';
export * from './messaging/in-process.transport.js';
export * from './messaging/port-clients.js';
export * from './resilience/resilience.service.js';
export * from './http/zod-validation.pipe.js';
export * from './http/app-exception.filter.js';
export * from './http/error-body.js';
export { serializeError } from './errors/serialize-error.js';
export * from './platform.module.js';
export * from './health/health.module.js';
export * from './health/graceful-shutdown.js';
export * from './health/readiness-report.js';
export * from './runtime/heap-growth.js';
export * from './messaging/redis-streams/redis-streams.keys.js';
export {
  RedisStreamsServer,
  type RedisStreamsServerOptions,
} from './messaging/redis-streams/redis-streams.server.js';
export {
  RedisStreamsClient,
  type RedisStreamsClientOptions,
} from './messaging/redis-streams/redis-streams.client.js';
export { TransportErrorCode } from './messaging/redis-streams/redis-streams.wire.js';
export * from './events/domain-events.module.js';
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
