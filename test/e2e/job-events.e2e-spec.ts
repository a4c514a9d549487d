import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deploy,
  eventually,
  http,
  openEventStream,
  type Deployment,
  type DeploymentKind,
  type SseEvent,
} from '#testing';
import { createApp } from '#app';

/**
 * Following a job as server-sent events over real sockets: its stages while it is processed, then how it
 * ended. An embeddings server that can hold its answers keeps documents in the embed stage as long as a
 * test needs, so what is observed mid-way does not depend on timing.
 */

const DIMENSIONS = 8;
/** Short, so that a stream reaching the deadline is observed quickly; every other request is far faster. */
const REQUEST_TIMEOUT_MS = 4_000;

/** An OpenAI-compatible embeddings server whose answers wait while it is held. */
class HeldEmbeddingsServer {
  private server?: Server;
  private waiting: (() => void)[] = [];
  private holding = false;
  baseUrl = '';

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const input = (JSON.parse(body) as { input: string | string[] }).input;
      if (this.holding) await new Promise<void>((resolve) => this.waiting.push(resolve));
      const data = (Array.isArray(input) ? input : [input]).map((text, index) => ({
        object: 'embedding',
        index,
        embedding: Array.from({ length: DIMENSIONS }, (_, i) => 1 + ((text.length + i) % 5)),
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ object: 'list', model: 'held', data, usage: { prompt_tokens: 0, total_tokens: 0 } }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  close(): Promise<void> {
    this.release();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const openEvents = (url: string) => openEventStream(url);

const longText = Array.from(
  { length: 40 },
  (_, i) => `Paragraph ${i} of the handbook explains how the archive keeps its records in order.`,
).join('\n\n');

describe.each<DeploymentKind>(['postgres', 'pglite'])('job events on %s', (kind) => {
  let embeddings: HeldEmbeddingsServer;
  let t: Deployment;
  const call = (method: string, path: string, body?: unknown) => http(t.baseUrl, method, path, body);
  const events = (jobId: string) => openEvents(`${t.baseUrl}/rag/jobs/${jobId}/events`);
  const ingest = async (collection: string, id: string, text: string): Promise<string> => {
    const res = await call('POST', `/rag/collections/${collection}/documents`, { documents: [{ id, text }] });
    expect(res.status).toBe(202);
    return res.body.documents[0].jobId;
  };
  const isEmbedding = (e: SseEvent) => e.data.stage === 'embed';

  beforeAll(async () => {
    embeddings = await new HeldEmbeddingsServer().start();
    t = await deploy(kind, createApp, {
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_MODEL: 'held-embedder',
      EMBEDDINGS_BASE_URL: embeddings.baseUrl,
      EMBEDDINGS_API_KEY: 'test',
      EMBEDDINGS_DIMENSIONS: String(DIMENSIONS),
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    await t?.close();
    await embeddings?.close();
  });

  it('streams the stages of a multi-chunk document, then done, with progress that never decreases', async () => {
    embeddings.hold();
    try {
      const jobId = await ingest('handbook', 'handbook', longText);
      const stream = await events(jobId);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);

      const before = await stream.readUntil(isEmbedding);
      expect(before.at(-1)).toEqual({
        event: 'progress',
        data: { jobId, status: 'processing', stage: 'embed', progress: 60 },
      });
      // Held in the embed stage: the job and the document say so too.
      expect((await call('GET', `/rag/jobs/${jobId}`)).body).toMatchObject({
        status: 'processing',
        stage: 'embed',
        progress: 60,
      });
      expect((await call('GET', '/rag/collections/handbook/documents/handbook')).body).toMatchObject({
        status: 'processing',
        stage: 'embed',
        progress: 60,
      });

      embeddings.release();
      const all = [...before, ...(await stream.readUntil())];
      expect(all.at(-1)).toEqual({
        event: 'done',
        data: { jobId, status: 'indexed', stage: null, progress: 100 },
      });
      expect(all.slice(0, -1).every((e) => e.event === 'progress')).toBe(true);
      const progress = all.map((e) => e.data.progress as number);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      // Only changes are sent.
      expect(new Set(all.map((e) => JSON.stringify(e.data))).size).toBe(all.length);
    } finally {
      embeddings.release();
    }
  });

  it('shows progress 100 and no stage on an indexed document and its job', async () => {
    const jobId = await ingest('views', 'guide', longText);
    await (await events(jobId)).readUntil();
    const document = await call('GET', '/rag/collections/views/documents/guide');
    expect(document.body).toMatchObject({ status: 'indexed', progress: 100 });
    expect(document.body.chunkCount).toBeGreaterThan(1);
    expect(document.body).not.toHaveProperty('stage');
    const job = await call('GET', `/rag/jobs/${jobId}`);
    expect(job.body).toMatchObject({ status: 'indexed', progress: 100 });
    expect(job.body).not.toHaveProperty('stage');
  });

  it('ends the stream of a corrupt PDF with failed, its error and the stage it failed at', async () => {
    const form = new FormData();
    form.append(
      'files',
      new Blob(['%PDF-1.4 this is not really a pdf'], { type: 'application/pdf' }),
      'broken.pdf',
    );
    const upload = await call('POST', '/rag/collections/broken/documents', form);
    expect(upload.status).toBe(202);
    const jobId = upload.body.documents[0].jobId as string;

    const all = await (await events(jobId)).readUntil();
    const last = all.at(-1)!;
    expect(last).toEqual({
      event: 'failed',
      data: { jobId, status: 'failed', stage: 'extract', progress: 10, error: expect.any(String) },
    });
    expect(all.filter((e) => e.event !== 'progress')).toHaveLength(1);
    const job = await call('GET', `/rag/jobs/${jobId}`);
    expect(job.body).toMatchObject({ status: 'failed', stage: 'extract', error: last.data.error });
  });

  it('ends the stream with superseded when a newer version of the document arrives', async () => {
    embeddings.hold();
    try {
      const v1 = await ingest('memos', 'memo', `The first draft. ${longText}`);
      const stream = await events(v1);
      await stream.readUntil(isEmbedding);
      await ingest('memos', 'memo', `The second draft. ${longText}`);
      expect((await stream.readUntil()).at(-1)).toEqual({
        event: 'superseded',
        data: { jobId: v1, status: 'superseded', stage: null, progress: null },
      });
    } finally {
      embeddings.release();
    }
    await eventually(async () => {
      const r = await call('GET', '/rag/collections/memos/documents/memo');
      return r.body.status === 'indexed' && r.body.version === 2;
    });
  });

  it('ends the stream at the request deadline without a final event', async () => {
    embeddings.hold();
    try {
      const jobId = await ingest('slow', 'slow', longText);
      const started = Date.now();
      const all = await (await events(jobId)).readUntil();
      expect(Date.now() - started).toBeLessThan(REQUEST_TIMEOUT_MS + 1_000);
      expect(all.length).toBeGreaterThan(0);
      expect(all.every((e) => e.event === 'progress')).toBe(true);
    } finally {
      embeddings.release();
    }
  });

  it('answers 404 in JSON for an unknown job, and 400 for a malformed id, before any event', async () => {
    const unknown = await call('GET', '/rag/jobs/999999999:1/events');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/json/);
    expect(unknown.body.error.code).toBe('INGESTION.JOB_NOT_FOUND');

    const malformed = await call('GET', '/rag/jobs/abc/events');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('GATEWAY.VALIDATION_FAILED');
  });
});
