import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DistributedDeployment,
  eventually,
  FakeLlmServer,
  http,
  llmReply,
  OtlpReceiver,
  OtlpSpanKind,
  type ReceivedSpan,
} from '#testing';

/**
 * One trace per request across the split deployment as it runs: each context is its own OS process (the
 * built apps, two retrieval replicas) exporting its spans over OTLP/HTTP, as it would to a collector.
 * An in-memory exporter sees only the spans of the process it lives in, so here the test runs a real
 * OTLP/HTTP receiver (`OtlpReceiver`) that every process exports to: the equivalent of an in-memory
 * exporter across processes. Each span arrives with its process's resource (`service.name`,
 * `process.pid`), so the test checks not only the tree but which process made each span.
 * (test/e2e/tracing.e2e-spec.ts checks the same tree with every context in one process.)
 */
describe('traces across the processes of the split deployment (OTLP receiver)', () => {
  let receiver: OtlpReceiver;
  let llm: FakeLlmServer;
  let d: DistributedDeployment;

  beforeAll(async () => {
    receiver = await new OtlpReceiver().start();
    llm = await new FakeLlmServer().start();
    d = await DistributedDeployment.start({
      env: {
        ...receiver.exporterEnv(),
        ...llm.openaiEnv,
      },
    });
  });

  afterAll(async () => {
    await d?.close();
    await llm?.close();
    await receiver?.close();
  });

  const service = (span: ReceivedSpan) => span.resource['service.name'];
  const pidOf = (name: string) => d.services.get(name)!.child.pid;
  const byName = (spans: ReceivedSpan[], name: string) => {
    const found = spans.filter((s) => s.name === name);
    expect(found, `span "${name}" in ${spans.map((s) => s.name).join(', ')}`).not.toHaveLength(0);
    return found;
  };
  const isUnder = (spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean => {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (let p = span.parentSpanId; p; p = byId.get(p)?.parentSpanId) if (p === ancestor.spanId) return true;
    return false;
  };
  /**
   * A call between contexts: the producer span made by the caller's process, the consumer span made by
   * a process of the target context, the consumer a child of the producer across the two.
   */
  const hop = (spans: ReceivedSpan[], pattern: string, from: string) => {
    const [producer] = byName(spans, `${pattern} send`);
    const consumers = byName(spans, `${pattern} process`);
    const consumer = consumers.find((c) => c.parentSpanId === producer.spanId);
    expect(consumer, `${pattern} process, child of its send`).toBeDefined();
    expect(producer.kind).toBe(OtlpSpanKind.PRODUCER);
    expect(consumer!.kind).toBe(OtlpSpanKind.CONSUMER);
    expect(service(producer)).toBe(`ragnest-${from}`);
    expect(service(consumer!)).toBe(`ragnest-${pattern.slice(0, pattern.indexOf('.'))}`);
    expect(consumer!.resource['process.pid']).not.toBe(producer.resource['process.pid']);
    return { producer, consumer: consumer! };
  };
  /** Every span of the trace has its parent in it, but the root: one tree, nothing cut off. */
  const expectOneTree = (spans: ReceivedSpan[], root: ReceivedSpan) => {
    const ids = new Set(spans.map((s) => s.spanId));
    const orphans = spans.filter((s) => s !== root && !ids.has(s.parentSpanId ?? ''));
    expect(orphans.map((s) => `${s.name} (${String(service(s))})`)).toEqual([]);
  };
  /** The trace of the gateway's server span named `name`, once `last` has arrived from its process. */
  const traceOf = async (name: string, last: string) => {
    const root = await eventually(async () =>
      receiver.spans.find((s) => s.kind === OtlpSpanKind.SERVER && s.name === name),
    );
    await eventually(async () => receiver.trace(root.traceId).some((s) => s.name === last) || undefined);
    // The exports of the other processes settle: read once more after their batch delay.
    await new Promise((r) => setTimeout(r, 500));
    return { root, spans: receiver.trace(root.traceId) };
  };
  const isSql = (s: ReceivedSpan) =>
    s.kind === OtlpSpanKind.CLIENT &&
    (s.attributes['db.system.name'] === 'postgresql' || s.attributes['db.system'] === 'postgresql');

  it('follows one upload from the gateway process through the queue to the indexing transaction', async () => {
    const res = await http(d.baseUrl, 'POST', '/rag/collections/traced/documents', {
      documents: [{ id: 'd1', text: 'Aspirin lowers the risk of a first stroke in women taking it daily.' }],
    });
    expect(res.status).toBe(202);
    await eventually(async () => {
      const r = await http(d.baseUrl, 'GET', '/rag/collections/traced/documents/d1');
      return r.body.status === 'indexed' ? r.body : undefined;
    });
    const { root, spans } = await traceOf(
      'POST /rag/collections/:collection/documents',
      'ingestion.index_transaction',
    );
    expect(root.parentSpanId).toBeUndefined();
    expect(service(root)).toBe('ragnest-gateway');
    expect(root.resource['process.pid']).toBe(pidOf('gateway'));
    expectOneTree(spans, root);
    const ingest = hop(spans, 'ingestion.ingest', 'gateway');
    expect(ingest.producer.parentSpanId).toBe(root.spanId);
    expect(ingest.consumer.resource['process.pid']).toBe(pidOf('ingestion'));
    const [publish] = byName(spans, 'ingestion publish');
    expect(publish.kind).toBe(OtlpSpanKind.PRODUCER);
    expect(isUnder(spans, publish, ingest.consumer)).toBe(true);
    const [job] = byName(spans, 'ingestion process');
    expect(job.kind).toBe(OtlpSpanKind.CONSUMER);
    expect(job.parentSpanId).toBe(publish.spanId);
    const [batch] = byName(spans, 'ingestion.index_batch');
    expect(isUnder(spans, batch, job)).toBe(true);
    const [transaction] = byName(spans, 'ingestion.index_transaction');
    expect(transaction.parentSpanId).toBe(batch.spanId);
    expect(spans.some((s) => isSql(s) && isUnder(spans, s, transaction))).toBe(true);
  });

  it('follows one /rag/query from the gateway process through every context process', async () => {
    llm.reply(llmReply.text('Daily aspirin lowers the risk of a first stroke [1].'));
    const res = await http(d.baseUrl, 'POST', '/rag/query', {
      collection: 'traced',
      query: 'aspirin stroke',
    });
    expect(res.status).toBe(200);
    const { root, spans } = await traceOf('POST /rag/query', 'presentation.present process');
    expect(root.parentSpanId).toBeUndefined();
    expect(service(root)).toBe('ragnest-gateway');
    expect(root.resource['process.pid']).toBe(pidOf('gateway'));
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([root.traceId]));
    expectOneTree(spans, root);

    const consumers = new Map<string, ReceivedSpan>();
    for (const [stage, pattern] of [
      ['query.understand', 'query-understanding.understand'],
      ['query.retrieve', 'retrieval.search'],
      ['query.rerank', 'retrieval.rerank'],
      ['query.generate', 'generation.generate'],
      ['query.present', 'presentation.present'],
    ]) {
      const [stageSpan] = byName(spans, stage);
      expect(stageSpan.parentSpanId).toBe(root.spanId);
      const { producer, consumer } = hop(spans, pattern, 'gateway');
      // The question as asked is searched ahead, while understanding runs: under the request, not the stage.
      const parent = pattern === 'retrieval.search' ? root : stageSpan;
      expect(isUnder(spans, producer, parent), `${pattern} under ${parent.name}`).toBe(true);
      consumers.set(pattern, consumer);
    }
    // The spans came from the deployment's own processes: the gateway and one of each context's.
    const pids = new Set(spans.map((s) => s.resource['process.pid']));
    for (const name of ['gateway', 'query-understanding', 'generation', 'presentation'])
      expect(pids, name).toContain(pidOf(name));
    expect([pidOf('retrieval-1'), pidOf('retrieval-2')]).toContain(
      consumers.get('retrieval.search')!.resource['process.pid'],
    );

    // Inside a retrieval process: both legs of the hybrid search, and their SQL.
    const search = consumers.get('retrieval.search')!;
    for (const leg of ['retrieval.dense', 'retrieval.sparse']) {
      const legs = byName(spans, leg);
      expect(legs.some((s) => isUnder(spans, s, search))).toBe(true);
    }
    const sql = spans.filter((s) => isSql(s) && isUnder(spans, s, search));
    expect(sql.length).toBeGreaterThan(0);
    expect(sql.every((s) => s.resource['process.pid'] === search.resource['process.pid'])).toBe(true);
    // The model call, from the undici (fetch) instrumentation, under the generation process's handler.
    const generate = consumers.get('generation.generate')!;
    const modelCalls = spans.filter((s) => String(s.attributes['url.full'] ?? '').startsWith(llm.url));
    expect(modelCalls.length).toBeGreaterThan(0);
    for (const call of modelCalls) {
      expect(call.kind).toBe(OtlpSpanKind.CLIENT);
      expect(isUnder(spans, call, generate)).toBe(true);
      expect(call.resource['process.pid']).toBe(pidOf('generation'));
    }
  });
});
