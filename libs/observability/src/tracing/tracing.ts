import {
  context,
  type Context,
  INVALID_SPAN_CONTEXT,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

export { SpanKind } from '@opentelemetry/api';

/**
 * Tracing, on when the standard OTEL_* variables name an exporter (see docs/observability.md). Off, it
 * costs nothing: the API hands out no-op spans and no context is kept. The spans that tie one request
 * together across processes are made here by hand (the HTTP request, each call over the transport as a
 * producer/consumer pair, each queue job, the query stages, the indexing transaction), since the W3C
 * `traceparent` those hops carry is the project's own; PostgreSQL queries and model calls (fetch) come
 * from the pg and undici instrumentations.
 */
const propagator = new W3CTraceContextPropagator();
const TRACER = 'ragnest';
let sdk: NodeSDK | undefined;

export interface TracingOptions {
  /** The service name when OTEL_SERVICE_NAME does not give one. */
  serviceName: string;
  /** Span processors of the caller's own (tests: an in-memory exporter); default from OTEL_* variables. */
  spanProcessors?: SpanProcessor[];
}

export const Tracing = {
  /** Whether a tracer provider is registered in this process. */
  get enabled(): boolean {
    return sdk !== undefined;
  },

  /** Starts the SDK once per process; later calls (another app in the same process) change nothing. */
  start(options: TracingOptions): void {
    if (sdk) return;
    sdk = new NodeSDK({
      serviceName: options.serviceName,
      ...(options.spanProcessors && { spanProcessors: options.spanProcessors }),
      // Metrics go to Prometheus (/metrics) and logs to stdout: the SDK exports traces only.
      metricReaders: [],
      logRecordProcessors: [],
      instrumentations: [
        new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
        new UndiciInstrumentation({ requireParentforSpans: true }),
      ],
    });
    sdk.start();
  },

  /** Exports the spans still buffered (an application closing; the SDK stays up for others in the process). */
  async flush(): Promise<void> {
    if (!sdk) return;
    const provider = trace.getTracerProvider() as {
      getDelegate?: () => { forceFlush?: () => Promise<void> };
    };
    await provider.getDelegate?.().forceFlush?.();
  },

  /** Flushes and stops the SDK (a serving process's shutdown). */
  async shutdown(): Promise<void> {
    const running = sdk;
    sdk = undefined;
    await running?.shutdown();
  },

  /**
   * Runs `fn` in a new span, a child of the active span or of `parent` (a W3C traceparent) when given.
   * The span ends when `fn` settles, marked as an error when it throws.
   */
  async inSpan<T>(
    name: string,
    options: {
      kind?: SpanKind;
      parent?: string;
      links?: Link[];
      attributes?: Record<string, string | number | boolean>;
    },
    fn: (span: Span) => Promise<T>,
  ): Promise<T> {
    if (!sdk) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
    const parent = options.parent ? Tracing.contextOf(options.parent) : context.active();
    return trace
      .getTracer(TRACER)
      .startActiveSpan(
        name,
        { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
        parent,
        async (span) => {
          try {
            return await fn(span);
          } catch (error) {
            Tracing.fail(span, error);
            throw error;
          } finally {
            span.end();
          }
        },
      );
  },

  /** Starts a span the caller ends (one whose end is an event, not a promise). */
  startSpan(
    name: string,
    options: { kind?: SpanKind; parent?: Context; attributes?: Record<string, string | number | boolean> },
  ): Span | undefined {
    if (!sdk) return undefined;
    return trace
      .getTracer(TRACER)
      .startSpan(
        name,
        { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
        options.parent ?? context.active(),
      );
  },

  fail(span: Span, error: unknown): void {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
    if (error instanceof Error) span.recordException(error);
  },

  /** The context in which `traceparent` is the remote parent (the root context when it is malformed). */
  contextOf(traceparent: string | undefined): Context {
    if (!traceparent) return ROOT_CONTEXT;
    return propagator.extract(ROOT_CONTEXT, { traceparent }, { get: (c, k) => c[k], keys: Object.keys });
  },

  /** The W3C traceparent of the active span, when tracing is on and a span is active. */
  activeTraceparent(ctx: Context = context.active()): string | undefined {
    if (!sdk) return undefined;
    const span = trace.getSpan(ctx);
    if (!span || !span.spanContext().traceId) return undefined;
    const carrier: Record<string, string> = {};
    propagator.inject(ctx, carrier, { set: (c, k, v) => (c[k] = v) });
    return carrier.traceparent;
  },

  /** The trace id of the active span, when tracing is on and a span is active. */
  activeTraceId(): string | undefined {
    if (!sdk) return undefined;
    return trace.getActiveSpan()?.spanContext().traceId;
  },

  /** Runs `fn` with `span` active, so that what it starts is the span's child. */
  with<T>(span: Span | undefined, fn: () => T): T {
    return span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
  },

  /** A link to the span a traceparent names (a batch that serves several jobs). */
  linkTo(traceparent: string | undefined): Link | undefined {
    const span = traceparent ? trace.getSpanContext(Tracing.contextOf(traceparent)) : undefined;
    return span ? { context: span } : undefined;
  },
};

/** The trace id of a W3C traceparent. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent?.split('-')[1];
}
