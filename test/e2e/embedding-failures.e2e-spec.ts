import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, eventually, FakeEmbeddingsServer, http, TEST_REDIS_URL, type Deployment } from '#testing';
import { createApp } from '#app';

/**
 * An embedding provider that rate limits or fails: a 429 with Retry-After is waited out and the document
 * is indexed, never failed; a permanent error fails the document with its reason, and the API's retry
 * indexes it once the provider is fixed. On the in-process queue and on BullMQ.
 */
describe.each(['in-process', 'bullmq'])('embedding provider failures, %s queue', (queue) => {
  let fake: FakeEmbeddingsServer;
  let t: Deployment;
  const doc = (collection: string, id: string) =>
    http(t.baseUrl, 'GET', `/rag/collections/${collection}/documents/${id}`).then((r) => r.body);

  beforeAll(async () => {
    fake = await new FakeEmbeddingsServer(8).start();
    t = await deploy('postgres', createApp, {
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_MODEL: 'fake-embedder',
      EMBEDDINGS_BASE_URL: fake.baseUrl,
      EMBEDDINGS_API_KEY: 'test',
      EMBEDDINGS_DIMENSIONS: '8',
      EMBEDDINGS_MAX_RETRIES: '0',
      ...(queue === 'bullmq'
        ? { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: `ragnest-emb-${randomBytes(4).toString('hex')}` }
        : {}),
    });
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('waits out a 429 with Retry-After and indexes the document', async () => {
    fake.reply({ status: 429, retryAfterSeconds: 1 }, { status: 200 });
    const before = fake.requests.length;
    const res = await http(t.baseUrl, 'POST', '/rag/collections/limited/documents', {
      documents: [{ id: 'd1', text: 'rate limited text' }],
    });
    expect(res.status).toBe(202);
    const indexed = await eventually(async () => {
      const d = await doc('limited', 'd1');
      expect(d.status).not.toBe('failed');
      return d.status === 'indexed' ? d : undefined;
    }, 30_000);
    expect(indexed.chunkCount).toBe(1);
    const calls = fake.requests.slice(before);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(900);
  });

  it('fails a document on a permanent error with the reason, then indexes it on retry', async () => {
    fake.reply({ status: 400, message: 'input is not acceptable' });
    await http(t.baseUrl, 'POST', '/rag/collections/broken/documents', {
      documents: [{ id: 'd2', text: 'refused text' }],
    });
    const failed = await eventually(async () => {
      const d = await doc('broken', 'd2');
      return d.status === 'failed' ? d : undefined;
    }, 30_000);
    expect(failed.error).toMatch(/400|not acceptable/);

    fake.reply({ status: 200 });
    const retry = await http(t.baseUrl, 'POST', '/rag/collections/broken/documents/d2/retry');
    expect(retry.status).toBe(202);
    const indexed = await eventually(async () => {
      const d = await doc('broken', 'd2');
      return d.status === 'indexed' ? d : undefined;
    }, 30_000);
    expect(indexed.version).toBe(failed.version + 1);
  });

  it('fails a document whose vectors have another size than the collection, naming both, and stores none', async () => {
    fake.reply({ status: 200, dimensions: 12 });
    await http(t.baseUrl, 'POST', '/rag/collections/resized/documents', {
      documents: [{ id: 'd3', text: 'a model that is not the configured one' }],
    });
    const failed = await eventually(async () => {
      const d = await doc('resized', 'd3');
      return d.status === 'failed' ? d : undefined;
    }, 30_000);
    expect(failed.error).toMatch(/12/);
    expect(failed.error).toMatch(/\b8\b/);
    expect(failed.chunkCount).toBe(0);
    fake.reply({ status: 200 });
  });

  it('embeds only the chunks an edit changed: the others keep their vectors', async () => {
    fake.reply({ status: 200 });
    const paragraph = (topic: string) =>
      Array.from({ length: 14 }, (_, i) => `Sentence ${i} is about ${topic} and nothing else.`).join(' ');
    const version = (last: string) => ({
      id: 'd4',
      text: [paragraph('kidneys'), paragraph('lungs'), paragraph(last)].join('\n\n'),
    });
    const indexed = async (v: number) =>
      eventually(async () => {
        const d = await doc('edited', 'd4');
        return d.status === 'indexed' && d.version === v ? d : undefined;
      }, 30_000);

    await http(t.baseUrl, 'POST', '/rag/collections/edited/documents', { documents: [version('bones')] });
    const first = await indexed(1);
    expect(first.chunkCount).toBeGreaterThanOrEqual(3);
    const before = fake.requests.length;
    await http(t.baseUrl, 'POST', '/rag/collections/edited/documents', { documents: [version('skin')] });
    await indexed(2);
    const embedded = fake.requests.slice(before).flatMap((r) => r.inputs);
    expect(embedded.length).toBeGreaterThan(0);
    expect(embedded.length).toBeLessThan(first.chunkCount);
    expect(embedded.every((text) => !text.includes('kidneys'))).toBe(true);
    expect(embedded.some((text) => text.includes('skin'))).toBe(true);
  });
});
