import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, eventually, http, type Deployment, type DeploymentKind } from '#testing';
import { createApp } from '#app';

/**
 * The ingestion endpoints around a document's life over real sockets: listing with keyset paging,
 * retrying a failed document, and following a job. The distributed deployment is left to
 * http-api.e2e-spec.ts: these endpoints cross the transport like every other ingestion call.
 */
describe.each<DeploymentKind>(['postgres', 'pglite'])('ingestion API on %s', (kind) => {
  let t: Deployment;
  const call = (method: string, path: string, body?: unknown) => http(t.baseUrl, method, path, body);
  const settled = (collection: string, id: string, version = 1) =>
    eventually(async () => {
      const r = await call('GET', `/rag/collections/${collection}/documents/${encodeURIComponent(id)}`);
      const done = r.body.status === 'indexed' || r.body.status === 'failed';
      return done && r.body.version === version ? r.body : undefined;
    });
  const uploadCorruptPdf = (collection: string) => {
    const form = new FormData();
    form.append(
      'files',
      new Blob(['%PDF-1.4 this is not really a pdf'], { type: 'application/pdf' }),
      'broken.pdf',
    );
    return call('POST', `/rag/collections/${collection}/documents`, form);
  };
  /** Follows `nextCursor` to the end (10 pages at most, so a cursor that never ends fails instead of hanging). */
  const pages = async (collection: string, query: string) => {
    const out: string[][] = [];
    let cursor: string | null = null;
    do {
      const after: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await call('GET', `/rag/collections/${collection}/documents?${query}${after}`);
      expect(res.status).toBe(200);
      out.push(res.body.documents.map((d: { id: string }) => d.id));
      cursor = res.body.nextCursor;
    } while (cursor !== null && out.length < 10);
    return out;
  };

  const ids = Array.from({ length: 12 }, (_, i) => `d${String(i + 1).padStart(2, '0')}`);

  beforeAll(async () => {
    t = await deploy(kind, createApp);
    const res = await call('POST', '/rag/collections/library/documents', {
      // Sent out of order: the listing orders by id, not by arrival.
      documents: [...ids]
        .reverse()
        .map((id) => ({ id, title: `Note ${id}`, text: `Field notes number ${id}.` })),
    });
    expect(res.status).toBe(202);
    expect((await uploadCorruptPdf('library')).status).toBe(202);
    for (const id of ids) expect((await settled('library', id)).status).toBe('indexed');
    expect((await settled('library', 'broken.pdf')).status).toBe('failed');
  });

  afterAll(() => t?.close());

  describe('listing documents', () => {
    it('pages through a collection in id order with a cursor', async () => {
      const all = await pages('library', 'limit=5');
      expect(all.map((p) => p.length)).toEqual([5, 5, 3]);
      expect(all.flat()).toEqual(['broken.pdf', ...ids]);
    });

    it('returns document views, and 50 of them by default', async () => {
      const res = await call('GET', '/rag/collections/library/documents');
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.documents).toHaveLength(13);
      expect(res.body.documents[1]).toEqual({
        id: 'd01',
        status: 'indexed',
        progress: 100,
        title: 'Note d01',
        metadata: {},
        chunkCount: 1,
        contentHash: expect.stringMatching(/^sha256:/),
        version: 1,
        updatedAt: expect.any(String),
      });
      expect(res.body.documents[0]).toMatchObject({
        id: 'broken.pdf',
        status: 'failed',
        error: expect.any(String),
      });
    });

    it('filters by status, paging within the filter', async () => {
      expect(await pages('library', 'status=failed')).toEqual([['broken.pdf']]);
      expect(await pages('library', 'status=indexed&limit=5')).toEqual([
        ids.slice(0, 5),
        ids.slice(5, 10),
        ids.slice(10),
      ]);
      expect(await pages('library', 'status=queued')).toEqual([[]]);
    });

    it('ends with a null cursor when the last page is exactly full', async () => {
      const res = await call('GET', '/rag/collections/library/documents?status=indexed&limit=12');
      expect(res.body.documents).toHaveLength(12);
      expect(res.body.nextCursor).toBeNull();
    });

    const bad: [string, string, RegExp][] = [
      ['an unknown status', 'status=done', /status/],
      ['a limit of 0', 'limit=0', /limit/],
      ['a limit over 500', 'limit=501', /limit/],
      ['a limit that is not a number', 'limit=ten', /limit/],
      ['a repeated parameter', 'limit=5&limit=6', /limit/],
      ['a malformed cursor', 'cursor=%25%25%25', /cursor/],
      ['a tampered cursor', 'cursor=ZDA1x', /cursor/],
      ['an unknown parameter', 'sort=id', /sort/],
    ];
    it.each(bad)('refuses %s with 400 naming the parameter', async (_name, query, message) => {
      const res = await call('GET', `/rag/collections/library/documents?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('GATEWAY.VALIDATION_FAILED');
      expect(res.body.error.message).toMatch(message);
    });

    it('answers 404 for an unknown collection', async () => {
      const res = await call('GET', '/rag/collections/missing/documents');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('INGESTION.COLLECTION_NOT_FOUND');
    });
  });

  describe('retrying a document', () => {
    it('queues a failed document as a new version, which fails again with its reason', async () => {
      expect((await uploadCorruptPdf('retries')).status).toBe(202);
      const failed = await settled('retries', 'broken.pdf');
      expect(failed).toMatchObject({ status: 'failed', version: 1, error: expect.any(String) });

      const res = await call('POST', '/rag/collections/retries/documents/broken.pdf/retry');
      expect(res.status).toBe(202);
      expect(res.body).toEqual({
        id: 'broken.pdf',
        status: 'queued',
        jobId: expect.stringMatching(/^\d+:2:[0-9a-f]{32}$/),
      });

      // Still corrupt: the new version fails too, with a reason of its own.
      const again = await settled('retries', 'broken.pdf', 2);
      expect(again).toMatchObject({ status: 'failed', version: 2, error: expect.any(String) });
      const job = await call('GET', `/rag/jobs/${res.body.jobId}`);
      expect(job.body).toMatchObject({ status: 'failed', version: 2, current: true, error: again.error });
      const listed = await call('GET', '/rag/collections/retries/documents?status=failed');
      expect(listed.body.documents.map((d: { version: number }) => d.version)).toEqual([2]);
    });

    it('refuses a document that is not failed with 409 naming its status', async () => {
      const res = await call('POST', '/rag/collections/library/documents/d01/retry');
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('INGESTION.NOT_FAILED');
      expect(res.body.error.message).toMatch(/indexed/);
      expect((await call('GET', '/rag/collections/library/documents/d01')).body.version).toBe(1);
    });

    it.each([
      [
        'an unknown document',
        '/rag/collections/library/documents/nope/retry',
        'INGESTION.DOCUMENT_NOT_FOUND',
      ],
      [
        'an unknown collection',
        '/rag/collections/missing/documents/d01/retry',
        'INGESTION.COLLECTION_NOT_FOUND',
      ],
    ])('answers 404 for %s', async (_name, path, code) => {
      const res = await call('POST', path);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe(code);
    });
  });

  describe('jobs', () => {
    it('reports the current version and the superseded one', async () => {
      const first = await call('POST', '/rag/collections/jobs/documents', {
        documents: [{ id: 'memo', text: 'The first draft of the memo.' }],
      });
      const v1 = first.body.documents[0].jobId as string;
      await settled('jobs', 'memo');
      const current = await call('GET', `/rag/jobs/${v1}`);
      expect(current.status).toBe(200);
      expect(current.body).toEqual({
        jobId: v1,
        collection: 'jobs',
        documentId: 'memo',
        version: 1,
        status: 'indexed',
        progress: 100,
        updatedAt: expect.any(String),
        current: true,
      });

      const second = await call('POST', '/rag/collections/jobs/documents', {
        documents: [{ id: 'memo', text: 'The second draft of the memo.' }],
      });
      const v2 = second.body.documents[0].jobId as string;
      // `<document>:<version>:<tag>`: the same document, the next version, its own unguessable tag.
      const [doc1, , tag1] = v1.split(':');
      expect(v2).toMatch(new RegExp(`^${doc1}:2:[0-9a-f]{32}$`));
      expect(v2.split(':')[2]).not.toBe(tag1);
      await settled('jobs', 'memo', 2);
      expect((await call('GET', `/rag/jobs/${v1}`)).body).toMatchObject({
        version: 1,
        status: 'superseded',
        current: false,
      });
      expect((await call('GET', `/rag/jobs/${v2}`)).body).toMatchObject({
        version: 2,
        status: 'indexed',
        current: true,
      });
    });

    it('answers 404 for a version never reached and for a deleted document’s jobs', async () => {
      const res = await call('POST', '/rag/collections/jobs/documents', {
        documents: [{ id: 'scratch', text: 'Soon to be deleted.' }],
      });
      const job = res.body.documents[0].jobId as string;
      await settled('jobs', 'scratch');
      const [documentNumber] = job.split(':');
      const ahead = await call('GET', `/rag/jobs/${documentNumber}:2`);
      expect(ahead.status).toBe(404);
      expect(ahead.body.error.code).toBe('INGESTION.JOB_NOT_FOUND');

      expect((await call('DELETE', '/rag/collections/jobs/documents/scratch')).status).toBe(204);
      const gone = await call('GET', `/rag/jobs/${job}`);
      expect(gone.status).toBe(404);
      expect(gone.body.error.code).toBe('INGESTION.JOB_NOT_FOUND');
      expect((await call('GET', '/rag/jobs/999999999:1')).status).toBe(404);
    });

    it.each(['abc', '0:1', '1:0', '1:2:3', '9223372036854775808:1'])(
      'refuses the malformed job id %j with 400',
      async (id) => {
        const res = await call('GET', `/rag/jobs/${encodeURIComponent(id)}`);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('GATEWAY.VALIDATION_FAILED');
        expect(res.body.error.message).toMatch(/job id/);
      },
    );
  });
});
