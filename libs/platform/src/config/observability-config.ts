import { z } from 'zod';
import { bool, ConfigError, optionalString } from './env-parsers.js';

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
  // Read here only to choose ragnest's default sampler when OTEL_TRACES_SAMPLER is unset.
  OTEL_TRACES_SAMPLER: optionalString,
  OTEL_TRACES_SAMPLER_ARG: optionalString,
});

/**
 * The share of new traces sampled when OTEL_TRACES_SAMPLER is unset (parent-based: a caller's sampled
 * flag wins). Not the SDK's default (every trace): tracing every request cost 14% of hybrid search
 * throughput; a tenth keeps a steady stream of whole traces for a fraction of that (docs/observability.md).
 */
export const DEFAULT_TRACE_SAMPLE_RATIO = 0.1;

function sampleRatio(e: { OTEL_TRACES_SAMPLER?: string; OTEL_TRACES_SAMPLER_ARG?: string }) {
  // A sampler named explicitly is the SDK's to build, argument included.
  if (e.OTEL_TRACES_SAMPLER !== undefined) return undefined;
  if (e.OTEL_TRACES_SAMPLER_ARG === undefined) return DEFAULT_TRACE_SAMPLE_RATIO;
  const ratio = Number(e.OTEL_TRACES_SAMPLER_ARG);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new ConfigError(
      `OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got "${e.OTEL_TRACES_SAMPLER_ARG}"`,
    );
  return ratio;
}

export interface ObservabilityConfig {
  /** JSON lines (default: for log collectors), or `pretty` for a terminal. */
  logFormat: 'json' | 'pretty';
  /** Whether ingestion metrics carry the collection (unbounded: one series per collection). */
  metricsCollectionLabels: boolean;
  /** Whether traces are exported: an OTLP endpoint or a traces exporter is set, and the SDK not disabled. */
  tracing: boolean;
  /**
   * With OTEL_TRACES_SAMPLER unset, the ratio of ragnest's default sampler, parentbased_traceidratio
   * (OTEL_TRACES_SAMPLER_ARG, else DEFAULT_TRACE_SAMPLE_RATIO); undefined when the SDK builds the sampler.
   */
  traceSampleRatio: number | undefined;
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
    traceSampleRatio: sampleRatio(e),
  };
}
