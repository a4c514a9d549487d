import {
  context,
  type Context,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

export { SpanKind } from '@opentelemetry/api';

/**
 * Tracing, on when the standard OTEL_* variables name an exporter (see docs/observability.md). Off, it
 * costs nothing: the API hands out no-op spans and no context is kept. The spans that tie one request
 * together across processes are made here by hand (the HTTP request, each call over the transport as a
 * producer/consumer pair, each queue job, the query stages, the indexing transaction), since the W3C
 * `traceparent` those hops carry is the project's own; PostgreSQL queries and model calls (fetch) come
 * from the pg and undici instrumentations.
 *
 * A request the sampler leaves out costs almost nothing: its server (or consumer) span is the SDK's
 * non-recording span, and it is not made active. Its context is kept under a key of our own instead, so
 * that the W3C traceparent still travels (flags `00`, telling the next process's parent-based sampler to
 * leave it out too) while nothing below makes a span: `inSpan` and `startSpan` return at once, and the
 * pg and undici instrumentations, which only trace under an active span, do not even build attributes.
 */
const propagator = new W3CTraceContextPropagator();
const TRACER = 'ragnest';
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
/** The span context of the trace a request belongs to when the sampler left it out. */
const UNSAMPLED = createContextKey('ragnest unsampled trace');
let sdk: NodeSDK | undefined;
/** The SDK's start in progress or done, so that apps created together in one process start it once. */
let starting: Promise<void> | undefined;

/** The span context `ctx` carries: its active span's, or the unsampled trace's it is part of. */
function spanContextOf(ctx: Context): SpanContext | undefined {
  return trace.getSpanContext(ctx) ?? (ctx.getValue(UNSAMPLED) as SpanContext | undefined);
}

/** Whether `ctx` belongs to a trace the sampler left out, so that no span is to be made under it. */
function unsampled(ctx: Context): boolean {
  return ctx.getValue(UNSAMPLED) !== undefined && trace.getSpan(ctx) === undefined;
}

/** The context in which `span` is the parent of what follows: active if it records, else only noted. */
function enter(parent: Context, span: Span): Context {
  return span.isRecording()
    ? trace.setSpan(parent, span)
    : trace.deleteSpan(parent).setValue(UNSAMPLED, span.spanContext());
}

export interface TracingOptions {
  /** The service name when OTEL_SERVICE_NAME does not give one. */
  serviceName: string;
  /** Span processors of the caller's own (tests: an in-memory exporter); default from OTEL_* variables. */
  spanProcessors?: SpanProcessor[];
  /**
   * The share of new traces to sample, parent-based (a request whose caller's traceparent says sampled
   * is sampled, one that says not is not). Unset: the SDK's sampler from OTEL_TRACES_SAMPLER.
   */
  sampleRatio?: number;
}

async function startSdk(options: TracingOptions): Promise<void> {
  const [
    { NodeSDK },
    { ParentBasedSampler, TraceIdRatioBasedSampler },
    { PgInstrumentation },
    { UndiciInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-undici'),
  ]);
  sdk = new NodeSDK({
    serviceName: options.serviceName,
    ...(options.spanProcessors && { spanProcessors: options.spanProcessors }),
    ...(options.sampleRatio !== undefined && {
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    }),
    // Metrics go to Prometheus (/metrics) and logs to stdout: the SDK exports traces only.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // A query's span, not the pool's: a connect span per checkout doubled a search's span count
      // (16 spans, 3 of them pg-pool.connect) for a wait the pool's gauges already show.
      new PgInstrumentation({
        requireParentSpan: true,
        ignoreConnectSpans: true,
        enhancedDatabaseReporting: false,
      }),
      // Under no span (tracing off for the request, or a trace left out), a fetch is let through before
      // the instrumentation parses its URL and headers into attributes it would then drop.
      new UndiciInstrumentation({
        requireParentforSpans: true,
        ignoreRequestHook: () => trace.getSpan(context.active()) === undefined,
      }),
    ],
  });
  sdk.start();
}

export const Tracing = {
  /** Whether a tracer provider is registered in this process. */
  get enabled(): boolean {
    return sdk !== undefined;
  },

  /**
   * Starts the SDK once per process; later calls (another app in the same process) change nothing. The
   * SDK and its instrumentations are imported only then: some 8 MiB of heap a process that does not
   * trace never needs.
   */
  start(options: TracingOptions): Promise<void> {
    return (starting ??= startSdk(options));
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
    starting = undefined;
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
    if (!sdk) return fn(NO_SPAN);
    const parent = options.parent ? Tracing.contextOf(options.parent) : context.active();
    if (unsampled(parent)) return fn(NO_SPAN);
    const span = trace
      .getTracer(TRACER)
      .startSpan(
        name,
        { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
        parent,
      );
    return context.with(enter(parent, span), async () => {
      try {
        return await fn(span);
      } catch (error) {
        Tracing.fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  },

  /**
   * Starts a span the caller ends (one whose end is an event, not a promise): none with tracing off or
   * under a trace the sampler left out; a non-recording one when the sampler leaves this one out.
   */
  startSpan(
    name: string,
    options: { kind?: SpanKind; parent?: Context; attributes?: Record<string, string | number | boolean> },
  ): Span | undefined {
    if (!sdk) return undefined;
    const parent = options.parent ?? context.active();
    if (unsampled(parent)) return undefined;
    return trace
      .getTracer(TRACER)
      .startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
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

  /**
   * The W3C traceparent of the active span (or of the unsampled trace, flags `00`), when tracing is on
   * and a request is being served.
   */
  activeTraceparent(ctx: Context = context.active()): string | undefined {
    if (!sdk) return undefined;
    const span = spanContextOf(ctx);
    if (!span || !isSpanContextValid(span)) return undefined;
    return `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, '0')}`;
  },

  /** The trace id of the active span (sampled or not), when tracing is on and a request is being served. */
  activeTraceId(): string | undefined {
    if (!sdk) return undefined;
    const span = spanContextOf(context.active());
    return span && isSpanContextValid(span) ? span.traceId : undefined;
  },

  /** Runs `fn` with `span` as the parent of what it starts (active if it records, else only noted). */
  with<T>(span: Span | undefined, fn: () => T): T {
    return span ? context.with(enter(context.active(), span), fn) : fn();
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
