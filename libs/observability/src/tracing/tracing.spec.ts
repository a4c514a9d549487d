import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Tracing } from './tracing.js';

const SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const NOT_SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

/**
 * The sampler ragnest defaults to, at ratio 0 so that every new trace is left out: a request left out
 * makes no span below its first and leaves nothing active for the pg and undici instrumentations, yet
 * its traceparent (flags 00) still travels; a caller's sampled traceparent is still followed.
 */
describe('Tracing with a parent-based ratio sampler', () => {
  const exporter = new InMemorySpanExporter();

  beforeAll(async () => {
    await Tracing.start({
      serviceName: 'tracing-spec',
      spanProcessors: [new SimpleSpanProcessor(exporter)],
      sampleRatio: 0,
    });
  });
  afterAll(() => Tracing.shutdown());
  beforeEach(() => exporter.reset());

  it('leaves a new trace out: nothing recorded, nothing active, the traceparent still carried', async () => {
    const server = Tracing.startSpan('GET /x', {
      kind: SpanKind.SERVER,
      parent: Tracing.contextOf(undefined),
    });
    expect(server).toBeDefined();
    expect(server!.isRecording()).toBe(false);
    const { traceId } = server!.spanContext();
    await Tracing.with(server, async () => {
      // What the pg and undici instrumentations look at before doing any work.
      expect(trace.getSpan(context.active())).toBeUndefined();
      expect(Tracing.activeTraceparent()).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
      expect(Tracing.activeTraceId()).toBe(traceId);
      expect(Tracing.startSpan('child', {})).toBeUndefined();
      await Tracing.inSpan('stage', {}, async (span) => {
        expect(span.isRecording()).toBe(false);
        expect(Tracing.activeTraceId()).toBe(traceId);
      });
    });
    server!.end();
    await Tracing.flush();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it("follows a caller's decision: its sampled trace is recorded whole, its unsampled one not at all", async () => {
    await Tracing.inSpan('consumer', { kind: SpanKind.CONSUMER, parent: SAMPLED }, async () => {
      await Tracing.inSpan('stage', {}, async () => {
        expect(Tracing.activeTraceparent()).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
      });
    });
    await Tracing.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['consumer', 'stage']);
    const consumer = spans.find((s) => s.name === 'consumer')!;
    expect(consumer.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(spans.find((s) => s.name === 'stage')!.parentSpanContext?.spanId).toBe(
      consumer.spanContext().spanId,
    );

    exporter.reset();
    await Tracing.inSpan('consumer', { kind: SpanKind.CONSUMER, parent: NOT_SAMPLED }, async () => {
      await Tracing.inSpan('stage', {}, async () => {
        expect(Tracing.activeTraceparent()).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
      });
    });
    await Tracing.flush();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
