import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextName } from '#contracts';
import {
  deploy,
  DistributedDeployment,
  eventually,
  FakeLlmServer,
  http,
  llmReply,
  TEST_REDIS_URL,
  type Deployment,
  type DeploymentKind,
  parseEventStream,
} from '#testing';
import { createApp } from '#app';

/**
 * The gateway's answer cache over real sockets: the same question twice is answered once, and a change
 * to the collection (published by ingestion as a domain event, across processes in the distributed
 * deployment) makes the next answer a fresh one.
 */
describe.each<DeploymentKind>(['postgres', 'distributed'])('answer cache on %s', (kind) => {
  let t: Deployment;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    http(t.baseUrl, method, path, body, headers);
  const indexed = (id: string) =>
    eventually(async () => {
      const r = await call('GET', `/rag/collections/cached/documents/${id}`);
      return r.status === 200 && r.body.status === 'indexed';
    });
  const question = { collection: 'cached', query: 'What does clopidogrel do?' };
  const ask = (requestId: string) => call('POST', '/rag/query', question, { 'x-request-id': requestId });
  // In the distributed deployment the news crosses Redis on its own way to the gateway, so it may land
  // a moment after the document's status reads as changed.
  const nextMiss = (requestId: string) =>
    eventually(async () => {
      const res = await ask(requestId);
      return res.headers.get('cache-status') === 'ragnest; fwd=miss' && res;
    }, 5_000);

  beforeAll(async () => {
    t = await deploy(kind, createApp);
    const res = await call('POST', '/rag/collections/cached/documents', {
      documents: [
        { id: 'aspirin', title: 'Aspirin', text: 'Daily low-dose aspirin reduces the risk of stroke.' },
        { id: 'coffee', title: 'Coffee', text: 'Coffee is associated with a lower risk of liver disease.' },
      ],
    });
    expect(res.status).toBe(202);
    for (const id of ['aspirin', 'coffee']) await indexed(id);
  });

  afterAll(() => t?.close());

  it('answers the same question from the cache, with the same body', async () => {
    const first = await ask('cache-1');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-status')).toBe('ragnest; fwd=miss');
    expect(first.headers.get('server-timing')).toMatch(/retrieve;dur=/);

    const second = await ask('cache-1');
    expect(second.status).toBe(200);
    expect(second.headers.get('cache-status')).toBe('ragnest; hit');
    expect(second.headers.get('server-timing')).toMatch(/^cache;desc=hit, total;dur=[\d.]+$/);
    expect(second.body).toEqual(first.body);

    const other = await ask('cache-2');
    expect(other.headers.get('cache-status')).toBe('ragnest; hit');
    expect(other.body).toEqual({ ...first.body, requestId: 'cache-2' });
  });

  it('replays a cached answer as a stream', async () => {
    const fresh = await ask('cache-3');
    const res = await call(
      'POST',
      '/rag/query',
      { ...question, stream: true },
      { 'x-request-id': 'cache-3' },
    );
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('cache-status')).toBe('ragnest; hit');
    const events = parseEventStream(res.text);
    expect(events[0].event).toBe('sources');
    expect(events.at(-1)).toEqual({ event: 'done', data: fresh.body });
    const tokens = events.filter((e) => e.event === 'token').map((e) => e.data.text);
    expect(tokens.join('')).toBe(fresh.body.answer);
  });

  it('answers afresh once a document of the collection is indexed, then deleted', async () => {
    const before = await ask('cache-4');
    expect(before.headers.get('cache-status')).toBe('ragnest; hit');
    expect(before.body.citations.map((c: { documentId: string }) => c.documentId)).not.toContain(
      'clopidogrel',
    );

    const res = await call('POST', '/rag/collections/cached/documents', {
      documents: [
        {
          id: 'clopidogrel',
          title: 'Clopidogrel',
          text: 'Clopidogrel prevents blood clots and lowers the risk of a second stroke.',
        },
      ],
    });
    expect(res.status).toBe(202);
    await indexed('clopidogrel');
    const afterIngest = await nextMiss('cache-5');
    expect(afterIngest.body.citations[0].documentId).toBe('clopidogrel');
    expect((await ask('cache-5')).headers.get('cache-status')).toBe('ragnest; hit');

    expect((await call('DELETE', '/rag/collections/cached/documents/clopidogrel')).status).toBe(204);
    const afterDelete = await nextMiss('cache-6');
    expect(afterDelete.body.citations.map((c: { documentId: string }) => c.documentId)).not.toContain(
      'clopidogrel',
    );
  });
});

/**
 * With Redis, one answer cache for every gateway replica, and the rung of the fallback ladder it adds:
 * the model down, an answer cached for the same question (other options aside) in the same generation
 * of the collection stands in before the extractive answer does.
 */
describe('answer cache shared in Redis by two gateways', () => {
  let d: DistributedDeployment;
  let llm: FakeLlmServer;
  let redis: Redis;
  let gateways: string[];
  const call = (baseUrl: string, body: unknown, requestId: string) =>
    http(baseUrl, 'POST', '/rag/query', body, { 'x-request-id': requestId });
  const ingest = async (documents: { id: string; title: string; text: string }[]) => {
    expect((await http(d.baseUrl, 'POST', '/rag/collections/shared/documents', { documents })).status).toBe(
      202,
    );
    for (const { id } of documents)
      await eventually(async () => {
        const r = await http(d.baseUrl, 'GET', `/rag/collections/shared/documents/${id}`);
        return r.status === 200 && r.body.status === 'indexed';
      });
  };
  const generation = async () => Number(await redis.get(`${d.env.REDIS_PREFIX}:answers:shared:generation`));
  // Each gateway moves the generation on when the news of a change reaches it: wait for all of them.
  const settledAbove = (before: number) =>
    eventually(async () => {
      const g = await generation();
      if (g <= before) return false;
      await delay(300);
      return (await generation()) === g && { g };
    }, 10_000);
  const question = { collection: 'shared', query: 'What does clopidogrel do?', topK: 2 };
  const modelAnswer = 'Clopidogrel prevents blood clots [1].';

  beforeAll(async () => {
    llm = await new FakeLlmServer().start();
    d = await DistributedDeployment.start({
      retrievalReplicas: 1,
      env: {
        ...llm.openaiEnv,
      },
    });
    const second = await d.startService('gateway-2', ContextName.Gateway);
    gateways = [d.baseUrl, `http://127.0.0.1:${second.port}`];
    redis = new Redis(TEST_REDIS_URL);
    await ingest([
      {
        id: 'clopidogrel',
        title: 'Clopidogrel',
        text: 'Clopidogrel prevents blood clots and lowers the risk of a second stroke.',
      },
      { id: 'coffee', title: 'Coffee', text: 'Coffee is associated with a lower risk of liver disease.' },
    ]);
    await settledAbove(0);
  });

  afterAll(async () => {
    redis?.disconnect();
    await d?.close();
    await llm?.close();
  });

  it('answers on one gateway what the other computed, from one Redis entry', async () => {
    const g = await generation();
    llm.reply(llmReply.text(modelAnswer));
    const first = await call(gateways[0], question, 'shared-1');
    expect(first.headers.get('cache-status')).toBe('ragnest; fwd=miss');
    expect(first.body).toMatchObject({ answer: modelAnswer, degraded: [] });
    expect((await redis.keys(`${d.env.REDIS_PREFIX}:answers:shared:${g}:*`)).length).toBe(2);

    const second = await call(gateways[1], question, 'shared-2');
    expect(second.headers.get('cache-status')).toBe('ragnest; hit');
    expect(second.body).toEqual({ ...first.body, requestId: 'shared-2' });
    expect(llm.requests.length).toBe(1);
  });

  it('moves the generation on when a document is indexed, so the next answer is fresh', async () => {
    const before = await generation();
    await ingest([
      { id: 'aspirin', title: 'Aspirin', text: 'Daily low-dose aspirin reduces the risk of stroke.' },
    ]);
    const { g } = await settledAbove(before);
    llm.reply(llmReply.text(modelAnswer));
    const fresh = await call(gateways[1], question, 'shared-3');
    expect(fresh.headers.get('cache-status')).toBe('ragnest; fwd=miss');
    expect(fresh.body.degraded).toEqual([]);
    expect((await redis.keys(`${d.env.REDIS_PREFIX}:answers:shared:${g}:*`)).length).toBe(2);
  });

  it('with the model down, serves the cached answer to the same question, else the extractive one', async () => {
    const calls = llm.requests.length;
    // Another topK: not the request cached, but the same question.
    const res = await call(gateways[0], { ...question, topK: 3 }, 'shared-4');
    expect(llm.requests.length).toBe(calls + 1);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-status')).toBe('ragnest; hit; detail=fallback');
    expect(res.body).toMatchObject({ answer: modelAnswer, degraded: ['generation'], requestId: 'shared-4' });
    expect(res.body.citations[0].documentId).toBe('clopidogrel');

    const unseen = await call(
      gateways[1],
      { ...question, query: 'Which drink helps the liver?' },
      'shared-5',
    );
    expect(unseen.status).toBe(200);
    expect(unseen.headers.get('cache-status')).toBe('ragnest; fwd=miss');
    expect(unseen.body.degraded).toEqual(['generation']);
    expect(unseen.body.answer).not.toBe(modelAnswer);
    expect(unseen.body.answer).toContain('liver');
  });
});
