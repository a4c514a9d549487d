import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, eventually, http, parseEventStream, type Deployment, type DeploymentKind } from '#testing';
import { createApp } from '#app';
import { BAD_INPUT_CASES } from './http-api.bad-input.js';

/** Every endpoint of the HTTP API over real sockets, good input and bad. */
describe.each<DeploymentKind>(['postgres', 'pglite', 'distributed'])('HTTP API on %s', (kind) => {
  let t: Deployment;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    http(t.baseUrl, method, path, body, headers);
  const indexed = (collection: string, id: string) =>
    eventually(async () => {
      const r = await call('GET', `/rag/collections/${collection}/documents/${encodeURIComponent(id)}`);
      return r.body.status === 'indexed' || r.body.status === 'failed' ? r.body : undefined;
    });

  beforeAll(async () => {
    t = await deploy(kind, createApp, {
      BODY_LIMIT_BYTES: String(64 * 1024),
      UPLOAD_LIMIT_BYTES: String(32 * 1024),
    });
    const res = await call('POST', '/rag/collections/papers/documents', {
      documents: [
        {
          id: 'p1',
          title: 'Aspirin and stroke',
          text: 'Daily low-dose aspirin reduces the risk of a first ischemic stroke in women. The effect on heart attack was not significant.',
          metadata: { year: 2005 },
        },
        {
          id: 'p2',
          title: 'Coffee and liver',
          text: 'Coffee consumption is associated with a lower risk of liver cirrhosis. Each cup reduced the risk further.',
          metadata: { year: 2016 },
        },
        {
          id: 'p3',
          title: 'Exercise and mood',
          text: 'Regular aerobic exercise reduces symptoms of depression in adults. Effects were comparable to medication.',
          metadata: { year: 2020 },
        },
      ],
    });
    expect(res.status).toBe(202);
    for (const id of ['p1', 'p2', 'p3']) await indexed('papers', id);
  });

  afterAll(() => t?.close());

  describe('documents', () => {
    it('accepts JSON documents with 202 and queued statuses', async () => {
      const res = await call('POST', '/rag/collections/fresh/documents', {
        documents: [{ id: 'a', text: 'alpha beta gamma' }],
      });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ documents: [{ id: 'a', status: 'queued', jobId: expect.any(String) }] });
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const doc = await indexed('fresh', 'a');
      expect(doc).toMatchObject({
        id: 'a',
        status: 'indexed',
        chunkCount: 1,
        contentHash: expect.stringMatching(/^sha256:/),
      });
      expect(new Date(doc.updatedAt).toString()).not.toBe('Invalid Date');
      const again = await call('POST', '/rag/collections/fresh/documents', {
        documents: [{ id: 'a', text: 'alpha beta gamma' }],
      });
      expect(again.body.documents[0].status).toBe('unchanged');
    });

    it('names a document without an id by its text', async () => {
      const res = await call('POST', '/rag/collections/noid/documents', {
        documents: [{ text: 'no id given here' }],
      });
      expect(res.status).toBe(202);
      expect(res.body.documents[0].id).toMatch(/^sha256-[0-9a-f]{32}$/);
    });

    it('accepts multipart uploads of txt, md and html files', async () => {
      const form = new FormData();
      form.append(
        'files',
        new Blob(['Plain text about glaciers melting.'], { type: 'text/plain' }),
        'glaciers.txt',
      );
      form.append(
        'files',
        new Blob(['# Volcanoes\n\nMagma rises through the crust.'], { type: 'text/markdown' }),
        'volcano.md',
      );
      form.append(
        'files',
        new Blob(
          ['<html><head><title>Tides</title></head><body><p>The moon drives ocean tides.</p></body></html>'],
          { type: 'text/html' },
        ),
        'tides.html',
      );
      form.append('metadata', JSON.stringify({ source: 'upload' }));
      const res = await call('POST', '/rag/collections/files/documents', form);
      expect(res.status).toBe(202);
      expect(res.body.documents.map((d: { id: string }) => d.id)).toEqual([
        'glaciers.txt',
        'volcano.md',
        'tides.html',
      ]);
      for (const id of ['glaciers.txt', 'volcano.md', 'tides.html'])
        expect((await indexed('files', id)).status).toBe('indexed');
      const search = await call('POST', '/rag/search', { collection: 'files', query: 'moon tides', topK: 1 });
      expect(search.body.results[0]).toMatchObject({
        documentId: 'tides.html',
        title: 'Tides',
        metadata: { source: 'upload', filename: 'tides.html' },
      });
    });

    it('marks an unreadable file failed with a reason', async () => {
      const form = new FormData();
      form.append(
        'files',
        new Blob(['%PDF-1.4 this is not really a pdf'], { type: 'application/pdf' }),
        'broken.pdf',
      );
      const res = await call('POST', '/rag/collections/files/documents', form);
      expect(res.status).toBe(202);
      const doc = await indexed('files', 'broken.pdf');
      expect(doc.status).toBe('failed');
      expect(doc.error).toBeTruthy();
      const view = await call('GET', '/rag/collections/files');
      expect(view.body.documents.failed).toBe(1);
    });

    it('refuses an unsupported file type with 415', async () => {
      const form = new FormData();
      form.append(
        'files',
        new Blob([new Uint8Array([1, 2, 3])], { type: 'application/octet-stream' }),
        'program.exe',
      );
      const res = await call('POST', '/rag/collections/files/documents', form);
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('INGESTION.UNSUPPORTED_MEDIA_TYPE');
      expect(res.body.error.message).toContain('program.exe');
    });

    it('reports a collection', async () => {
      const res = await call('GET', '/rag/collections/papers');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        name: 'papers',
        documents: { queued: 0, processing: 0, indexed: 3, failed: 0 },
        chunks: 3,
      });
    });

    it('deletes a document: 204, then 404, and gone from search', async () => {
      await call('POST', '/rag/collections/del/documents', {
        documents: [
          { id: 'x', text: 'unique zebra crossing' },
          { id: 'y', text: 'other text' },
        ],
      });
      await indexed('del', 'x');
      expect((await call('DELETE', '/rag/collections/del/documents/x')).status).toBe(204);
      expect((await call('GET', '/rag/collections/del/documents/x')).status).toBe(404);
      expect((await call('DELETE', '/rag/collections/del/documents/x')).status).toBe(404);
      const search = await call('POST', '/rag/search', {
        collection: 'del',
        query: 'zebra crossing',
        topK: 5,
      });
      expect(search.body.results.map((r: { documentId: string }) => r.documentId)).not.toContain('x');
    });
  });

  describe('search', () => {
    it.each(['hybrid', 'dense', 'sparse'])('returns ranked results in %s mode', async (mode) => {
      const res = await call('POST', '/rag/search', {
        collection: 'papers',
        query: 'does coffee protect the liver?',
        topK: 2,
        mode,
      });
      expect(res.status).toBe(200);
      // BM25 returns only chunks sharing a term with the query; the vector legs always fill topK.
      expect(res.body.results).toHaveLength(mode === 'sparse' ? 1 : 2);
      expect(res.body.results[0]).toMatchObject({
        documentId: 'p2',
        chunkId: 'p2#0',
        title: 'Coffee and liver',
        metadata: { year: 2016 },
      });
      expect(typeof res.body.results[0].score).toBe('number');
      expect(res.body.timings.totalMs).toBeGreaterThanOrEqual(0);
    });

    it('filters on metadata', async () => {
      const res = await call('POST', '/rag/search', {
        collection: 'papers',
        query: 'risk',
        topK: 10,
        filter: { year: { $gte: 2010 } },
      });
      expect(res.body.results.length).toBeGreaterThan(0);
      expect(res.body.results.every((r: { metadata: { year: number } }) => r.metadata.year >= 2010)).toBe(
        true,
      );
    });
  });

  describe('query', () => {
    it('answers with numbered citations, degraded and timings', async () => {
      const res = await call('POST', '/rag/query', {
        collection: 'papers',
        query: 'Does aspirin prevent stroke?',
      });
      expect(res.status).toBe(200);
      expect(res.body.answer).toMatch(/aspirin/i);
      expect(res.body.answer).toMatch(/\[1\]/);
      expect(res.body.citations[0]).toMatchObject({
        index: 1,
        documentId: 'p1',
        chunkId: 'p1#0',
        title: 'Aspirin and stroke',
      });
      for (const m of res.body.answer.matchAll(/\[(\d+)\]/g))
        expect(Number(m[1])).toBeLessThanOrEqual(res.body.citations.length);
      expect(res.body.degraded).toEqual([]);
      expect(Object.keys(res.body.timings).sort()).toEqual([
        'generateMs',
        'presentMs',
        'rerankMs',
        'retrieveMs',
        'totalMs',
        'understandMs',
      ]);
      expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
      expect(res.headers.get('server-timing')).toMatch(/retrieve;dur=[\d.]+/);
    });

    it('keeps the client’s request id', async () => {
      const res = await call(
        'POST',
        '/rag/query',
        { collection: 'papers', query: 'coffee' },
        { 'x-request-id': 'client-42' },
      );
      expect(res.body.requestId).toBe('client-42');
    });

    it('streams sources, tokens and done as server-sent events', async () => {
      const res = await call('POST', '/rag/query', {
        collection: 'papers',
        query: 'exercise and depression',
        stream: true,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const events = parseEventStream(res.text);
      expect(events[0].event).toBe('sources');
      expect(events.at(-1)!.event).toBe('done');
      const tokens = events
        .filter((e) => e.event === 'token')
        .map((e) => e.data.text)
        .join('');
      expect(tokens).toBe(events.at(-1)!.data.answer);
      expect(events.at(-1)!.data.citations[0].documentId).toBe('p3');
    });
  });

  describe('bad input gets a 4xx with a code, never a 500', () => {
    it.each(BAD_INPUT_CASES)('%s', async (_name, method, path, body, status, code, message) => {
      const res = await call(method, path, body);
      expect(res.status).toBe(status);
      expect(res.body.error).toMatchObject({
        code,
        message: expect.any(String),
        requestId: expect.any(String),
      });
      if (message) expect(res.body.error.message).toMatch(message);
    });

    it('refuses an oversize body with 413', async () => {
      const res = await call('POST', '/rag/collections/papers/documents', {
        documents: [{ id: 'big', text: 'x'.repeat(100 * 1024) }],
      });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('GATEWAY.PAYLOAD_TOO_LARGE');
    });

    it('refuses an oversize upload with 413', async () => {
      const form = new FormData();
      form.append('files', new Blob(['y'.repeat(40 * 1024)], { type: 'text/plain' }), 'big.txt');
      const res = await call('POST', '/rag/collections/papers/documents', form);
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('GATEWAY.PAYLOAD_TOO_LARGE');
    });

    it('refuses a multipart upload without files', async () => {
      const form = new FormData();
      form.append('metadata', '{}');
      const res = await call('POST', '/rag/collections/papers/documents', form);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/files/);
    });
  });

  describe('health and docs', () => {
    it('is live and ready', async () => {
      expect((await call('GET', '/health/live')).status).toBe(200);
      const ready = await call('GET', '/health/ready');
      expect(ready.status).toBe(200);
      if (kind === 'distributed') {
        expect(ready.body.info.contexts.replicas.retrieval).toHaveLength(2);
      } else {
        expect(ready.body.info.database.status).toBe('up');
      }
    });

    it('serves the OpenAPI document and the docs UI', async () => {
      const doc = await call('GET', '/docs/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining([
          '/rag/search',
          '/rag/query',
          '/rag/collections/{collection}/documents',
          '/health/ready',
        ]),
      );
      expect(
        doc.body.paths['/rag/search'].post.requestBody.content['application/json'].schema.properties.topK,
      ).toMatchObject({ maximum: 100 });
      const ui = await call('GET', '/docs');
      expect(ui.status).toBe(200);
      expect(ui.text).toContain('swagger');
    });
  });
});
