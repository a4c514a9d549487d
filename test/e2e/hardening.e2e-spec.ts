import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, startTestApp, type TestApp } from '#testing';
import { createApp } from '#app';

/**
 * The findings of issue 21's probe, each kept fixed: bad input that reached PostgreSQL and opened
 * retrieval's circuit, errors without a request id, a body that never ends, cross-site writes.
 */
describe('HTTP hardening (issue 21 probe findings)', () => {
  let t: TestApp;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    http(t.baseUrl, method, path, body, headers);

  beforeAll(async () => {
    t = await startTestApp(createApp, 'postgres', {
      BODY_LIMIT_BYTES: String(64 * 1024),
      HTTP_BODY_TIMEOUT_MS: '700',
      CORS_ORIGINS: 'http://good.example',
      BREAKER_THRESHOLD: '3',
    });
    const res = await call('POST', '/rag/collections/probe/documents', {
      documents: [{ id: 'd1', text: 'aspirin lowers the risk of stroke', metadata: { source: 'ab' } }],
    });
    expect(res.status).toBe(202);
    await eventually(async () => {
      const r = await call('GET', '/rag/collections/probe/documents/d1');
      return r.body.status === 'indexed';
    });
  });
  afterAll(() => t?.close());

  it('refuses NUL in a filter value with 400 naming the field, and never opens the breaker', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await call('POST', '/rag/search', {
        collection: 'probe',
        query: 'aspirin',
        filter: { source: 'a\u0000b', year: { $in: ['x', 'y\u0000'] } },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('GATEWAY.VALIDATION_FAILED');
      expect(res.body.error.message).toMatch(/filter\.source.*NUL/);
    }
    const lone = await call('POST', '/rag/search', {
      collection: 'probe',
      query: 'a',
      filter: { source: '\ud800' },
    });
    expect(lone.status).toBe(400);
    expect(lone.body.error.message).toMatch(/filter\.source.*well-formed/);
    const loneMetadata = await call('POST', '/rag/collections/probe/documents', {
      documents: [{ id: 'm', text: 'x', metadata: { k: 'half \udc00' } }],
    });
    expect(loneMetadata.status).toBe(400);
    expect(loneMetadata.body.error.message).toMatch(/metadata.*well-formed/);
    const nulQuery = await call('POST', '/rag/query', { collection: 'probe', query: 'asp\u0000irin' });
    expect(nulQuery.status).toBe(400);
    expect(nulQuery.body.error.message).toMatch(/query.*NUL/);
    const ok = await call('POST', '/rag/search', {
      collection: 'probe',
      query: 'aspirin',
      filter: { source: 'ab' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.results.map((r: { documentId: string }) => r.documentId)).toEqual(['d1']);
    const ready = await call('GET', '/health/ready');
    expect(ready.status).toBe(200);
  });

  it.each([
    ['a body that is not JSON', () => call('POST', '/rag/search', '{'), 400],
    [
      'a body over the limit',
      () => call('POST', '/rag/search', JSON.stringify({ q: 'x'.repeat(70 * 1024) })),
      413,
    ],
    ['a path the router cannot decode', () => call('GET', '/rag/collections/%ZZ'), 400],
    ['an unknown route', () => call('GET', '/nowhere'), 404],
  ])('gives %s a real request id', async (_what, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.error.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('answers 408 in the error shape when a body is shorter than its Content-Length', async () => {
    const started = Date.now();
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.write(
        'POST /rag/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{"collection":',
      );
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(raw).toMatch(/^HTTP\/1\.1 408/);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect(body.error).toMatchObject({ code: 'GATEWAY.REQUEST_TIMEOUT', requestId: expect.any(String) });
    expect(body.error.requestId).not.toBe('');
  });

  it('refuses a cross-site multipart POST unless its origin is allowed', async () => {
    const form = () => {
      const f = new FormData();
      f.append('files', new Blob(['cross site text']), 'x.txt');
      return f;
    };
    const evil = await call('POST', '/rag/collections/probe/documents', form(), {
      Origin: 'http://evil.example',
    });
    expect(evil.status).toBe(403);
    expect(evil.body.error).toMatchObject({ requestId: expect.any(String) });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const fetchMeta = await call('POST', '/rag/collections/probe/documents', form(), {
      'Sec-Fetch-Site': 'cross-site',
    });
    expect(fetchMeta.status).toBe(403);
    const good = await call('POST', '/rag/collections/probe/documents', form(), {
      Origin: 'http://good.example',
    });
    expect(good.status).toBe(202);
    expect(good.headers.get('access-control-allow-origin')).toBe('http://good.example');
    const sameOrigin = await call('POST', '/rag/collections/probe/documents', form(), {
      Origin: t.baseUrl,
    });
    expect(sameOrigin.status).toBe(202);
    // No Origin at all: a script or the CLI, not a browser.
    expect((await call('POST', '/rag/collections/probe/documents', form())).status).toBe(202);
  });

  it('answers a preflight only for allowed origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${t.baseUrl}/rag/search`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
      });
    expect((await preflight('http://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight('http://good.example')).headers.get('access-control-allow-origin')).toBe(
      'http://good.example',
    );
  });

  it('sends security headers, with a CSP Swagger UI works under', async () => {
    const docs = await fetch(`${t.baseUrl}/docs`);
    expect(docs.status).toBe(200);
    const csp = docs.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
    expect(docs.headers.get('strict-transport-security')).toBeTruthy();
    expect(docs.headers.get('x-powered-by')).toBeNull();
    // Every script the page loads comes from this origin, as script-src 'self' requires.
    const html = await docs.text();
    for (const [, src] of html.matchAll(/<script[^>]*src=["']([^"']+)["']/g)) {
      expect(src.startsWith('http')).toBe(false);
      expect((await fetch(new URL(src, docs.url))).status).toBe(200);
    }
    expect(html).not.toMatch(/<script>(?!\s*<\/script>)/);
  });
});
