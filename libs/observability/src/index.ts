/**
 * Observability: JSON logs keyed by the request context, the `Metrics` port every context reports through
 * (Prometheus, GET /metrics), and OpenTelemetry tracing (the edge's trace context, the consumer span of
 * every message handled).
 */
export * from './observability.module.js';
export * from './metrics/metrics.service.js';
export type { QueryStage, RetrievalLeg, AnswerCacheOutcome } from './metrics/query.metrics.js';
export type { CallOutcome } from './metrics/transport.metrics.js';
export type { DocumentOutcome, QueueState } from './metrics/ingestion.metrics.js';
export { Tracing, SpanKind, traceIdOf, type TracingOptions } from './tracing/tracing.js';
export { requestTraceparent } from './tracing/request-traceparent.js';
export { createRootLogger, JsonLogger, type LogFormat } from './logging/json-logger.js';
export { accessLog, routeOf } from './logging/access-log.js';
