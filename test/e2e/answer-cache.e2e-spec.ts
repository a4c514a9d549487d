import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, eventually, http, type Deployment, type DeploymentKind } from '#testing';
import { createApp } from '../../apps/server/src/bootstrap.js';

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
    const events = res.text
      .trim()
      .split('\n\n')
      .map((block) => {
        const [e, d] = block.split('\n');
        return { event: e.replace('event: ', ''), data: JSON.parse(d.replace('data: ', '')) };
      });
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
