import { z } from 'zod';
import { bool, optionalString } from './env-parsers.js';

/**
 * Logs, metrics and traces, parsed with the rest of the configuration (EnvSchema extends this shape).
 * docs/observability.md explains each; docs/configuration.md and .env.example list them.
 */

export const ObservabilityEnvSchema = z.object({
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  METRICS_COLLECTION_LABELS: bool.default(false),
  // The standard OpenTelemetry variables that decide whether traces are exported (the SDK reads the rest).
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_TRACES_EXPORTER: optionalString,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalString,
});

export interface ObservabilityConfig {
  /** JSON lines (default: for log collectors), or `pretty` for a terminal. */
  logFormat: 'json' | 'pretty';
  /** Whether ingestion metrics carry the collection (unbounded: one series per collection). */
  metricsCollectionLabels: boolean;
  /** Whether traces are exported: an OTLP endpoint or a traces exporter is set, and the SDK not disabled. */
  tracing: boolean;
}

export function observabilityConfig(e: z.infer<typeof ObservabilityEnvSchema>): ObservabilityConfig {
  return {
    logFormat: e.LOG_FORMAT,
    metricsCollectionLabels: e.METRICS_COLLECTION_LABELS,
    tracing:
      !e.OTEL_SDK_DISABLED &&
      (e.OTEL_TRACES_EXPORTER !== undefined
        ? e.OTEL_TRACES_EXPORTER !== 'none'
        : !!(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)),
  };
}
