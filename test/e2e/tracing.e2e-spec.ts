import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanKind } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextName } from '#contracts';
import { loadConfig } from '#platform';
import { Tracing } from '#observability';
import {
  createTestDatabase,
  eventually,
  FakeLlmServer,
  http,
  llmReply,
  parsePrometheusText,
  promValue,
  TEST_REDIS_URL,
  type TestDatabase,
} from '#testing';
import { createApp } from '#app';

/**
 * One trace per request across the split deployment. Each context is its own Nest application with its
 * own transport servers and clients, hosted in this test's process and reaching the others only over
 * real Redis Streams (and BullMQ for ingestion), so every hop goes through the envelope's traceparent;
 * being one process lets one in-memory exporter see every span.
 */
describe('traces across the split deployment (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  const apps: INestApplication[] = [];
  const urls = new Map<ContextName, string>();
  const prefix = `ragnest-trace-${randomBytes(4).toString('hex')}`;
  let db: TestDatabase;
  let llm: FakeLlmServer;
  let baseUrl = '';

  const start = async (context: ContextName, env: Record<string, string> = {}) => {
    const config = loadConfig({
      ...env,
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      RAG_CONTEXTS: context,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      SHUTDOWN_READINESS_DELAY_MS: '0',
    });
    const app = await createApp(config, { signals: false });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    urls.set(context, `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`);
    return app;
  };

  beforeAll(async () => {
    await Tracing.start({ serviceName: 'ragnest-test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
    db = await createTestDatabase();
    llm = await new FakeLlmServer().start();
    await start(ContextName.Ingestion); // migrates first
    for (const c of [ContextName.QueryUnderstanding, ContextName.Retrieval, ContextName.Presentation])
      await start(c);
    await start(ContextName.Generation, {
      ...llm.openaiEnv,
    });
    const gateway = await start(ContextName.Gateway);
    const { port } = gateway.getHttpServer().address() as { port: number };
    baseUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await Tracing.shutdown();
    await llm?.close();
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await db?.drop();
  });

  const traceOf = (root: ReadableSpan) =>
    exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
  const byName = (spans: ReadableSpan[], name: string) => {
    const found = spans.filter((s) => s.name === name);
    expect(found, `span "${name}" in ${spans.map((s) => s.name).join(', ')}`).not.toHaveLength(0);
    return found;
  };
  /** The consumer span of a call and the producer span it is the child of. */
  const hop = (spans: ReadableSpan[], pattern: string) => {
    const [producer] = byName(spans, `${pattern} send`);
    const [consumer] = byName(spans, `${pattern} process`);
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(consumer)).toBe(producer.spanContext().spanId);
    return { producer, consumer };
  };
  const isUnder = (spans: ReadableSpan[], span: ReadableSpan, ancestor: ReadableSpan): boolean => {
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    for (let p = parentOf(span); p; p = byId.get(p) && parentOf(byId.get(p)!))
      if (p === ancestor.spanContext().spanId) return true;
    return false;
  };

  it('follows one upload from the gateway through the queue to the indexing transaction', async () => {
    const res = await http(baseUrl, 'POST', '/rag/collections/traced/documents', {
      documents: [{ id: 'd1', text: 'Aspirin lowers the risk of a first stroke in women taking it daily.' }],
    });
    expect(res.status).toBe(202);
    await eventually(async () => {
      const r = await http(baseUrl, 'GET', '/rag/collections/traced/documents/d1');
      return r.body.status === 'indexed' ? r.body : undefined;
    });
    const root = await eventually(async () =>
      exporter
        .getFinishedSpans()
        .find((s) => s.kind === SpanKind.SERVER && s.name === 'POST /rag/collections/:collection/documents'),
    );
    const spans = await eventually(async () => {
      const all = traceOf(root);
      return all.some((s) => s.name === 'ingestion.index_transaction') ? all : undefined;
    });
    expect(parentOf(root)).toBeUndefined();
    const ingest = hop(spans, 'ingestion.ingest');
    expect(parentOf(ingest.producer)).toBe(root.spanContext().spanId);
    const [publish] = byName(spans, 'ingestion publish');
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(isUnder(spans, publish, ingest.consumer)).toBe(true);
    const [job] = byName(spans, 'ingestion process');
    expect(job.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(job)).toBe(publish.spanContext().spanId);
    const [batch] = byName(spans, 'ingestion.index_batch');
    expect(isUnder(spans, batch, job)).toBe(true);
    const [transaction] = byName(spans, 'ingestion.index_transaction');
    expect(parentOf(transaction)).toBe(batch.spanContext().spanId);
    // The transaction's SQL, from the pg instrumentation.
    const sql = spans.filter(
      (s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql',
    );
    expect(sql.some((s) => isUnder(spans, s, transaction))).toBe(true);
  });

  it('follows one /rag/query from the gateway through every context hop', async () => {
    exporter.reset();
    llm.reply(llmReply.text('Daily aspirin lowers the risk of a first stroke [1].'));
    const res = await http(baseUrl, 'POST', '/rag/query', { collection: 'traced', query: 'aspirin stroke' });
    expect(res.status).toBe(200);
    const root = await eventually(async () =>
      exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER && s.name === 'POST /rag/query'),
    );
    const spans = traceOf(root);
    expect(parentOf(root)).toBeUndefined();
    for (const [stage, pattern] of [
      ['query.understand', 'query-understanding.understand'],
      ['query.retrieve', 'retrieval.search'],
      ['query.rerank', 'retrieval.rerank'],
      ['query.generate', 'generation.generate'],
      ['query.present', 'presentation.present'],
    ]) {
      const [stageSpan] = byName(spans, stage);
      expect(parentOf(stageSpan)).toBe(root.spanContext().spanId);
      const { producer } = hop(spans, pattern);
      // The question as asked is searched ahead, while understanding runs: under the request, not the stage.
      const parent = pattern === 'retrieval.search' ? root : stageSpan;
      expect(isUnder(spans, producer, parent), `${pattern} under ${parent.name}`).toBe(true);
    }
    // Inside retrieval: both legs of the hybrid search, and their SQL.
    const { consumer: search } = hop(spans, 'retrieval.search');
    for (const leg of ['retrieval.dense', 'retrieval.sparse']) {
      const [span] = byName(spans, leg);
      expect(isUnder(spans, span, search)).toBe(true);
    }
    const sql = spans.filter((s) => s.kind === SpanKind.CLIENT && isUnder(spans, s, search));
    expect(sql.length).toBeGreaterThan(0);
    // The model call, from the undici (fetch) instrumentation, under generation's handler.
    const { consumer: generate } = hop(spans, 'generation.generate');
    const modelCalls = spans.filter((s) => String(s.attributes['url.full'] ?? '').startsWith(llm.url));
    expect(modelCalls.length).toBeGreaterThan(0);
    expect(modelCalls.every((s) => s.kind === SpanKind.CLIENT && isUnder(spans, s, generate))).toBe(true);
    // Every span of the request is in its one trace, none in a trace of its own.
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it('serves /metrics in every process, each with what it did', async () => {
    const scrape = async (context: ContextName) =>
      parsePrometheusText(await (await fetch(`${urls.get(context)}/metrics`)).text());
    const retrieval = await scrape(ContextName.Retrieval);
    expect(
      promValue(retrieval, 'ragnest_transport_handled_duration_seconds_count', {
        pattern: 'retrieval.search',
      }),
    ).toBeGreaterThan(0);
    expect(
      promValue(retrieval, 'ragnest_retrieval_leg_duration_seconds_count', { leg: 'sparse' }),
    ).toBeGreaterThan(0);
    const gateway = await scrape(ContextName.Gateway);
    expect(
      promValue(gateway, 'ragnest_transport_calls_total', { target: 'retrieval.search', outcome: 'ok' }),
    ).toBeGreaterThan(0);
    expect(promValue(gateway, 'ragnest_query_stage_duration_seconds_count', { stage: 'generate' })).toBe(1);
    const ingestion = await scrape(ContextName.Ingestion);
    expect(promValue(ingestion, 'ragnest_ingestion_documents_total', { outcome: 'indexed' })).toBe(1);
    expect(promValue(ingestion, 'ragnest_ingestion_queue_jobs', { state: 'completed' })).toBe(1);
    for (const context of [ContextName.QueryUnderstanding, ContextName.Generation, ContextName.Presentation])
      expect(promValue(await scrape(context), 'process_cpu_user_seconds_total'), context).toBeGreaterThan(0);
  });
});
