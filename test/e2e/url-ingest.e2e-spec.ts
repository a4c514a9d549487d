import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, eventually, http, type Deployment } from '#testing';
import { createApp } from '#app';

/**
 * `{"url"}` documents against a real local HTTP server: a page read through the HTML extractor, a
 * sitemap queuing its pages, and each bound (size, time, redirects, media type) ending the document
 * `failed` with its reason. The server is on loopback, so one deployment allows private addresses
 * (URL_INGEST_ALLOW_PRIVATE=true) and another, on the defaults, must refuse to reach it at all.
 */
const page = (title: string, body: string) =>
  `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1><p>${body}</p></body></html>`;

describe('URL ingest', () => {
  let site: Server;
  let origin: string;
  const requests: string[] = [];

  beforeAll(async () => {
    site = createServer((req: IncomingMessage, res: ServerResponse) => {
      requests.push(req.url ?? '');
      const html = (status: number, text: string) =>
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(text);
      switch (req.url) {
        case '/lighthouse.html':
          return html(200, page('The lighthouse', 'The keeper logged eleven storms that winter.'));
        case '/pier.html':
          return html(200, page('The pier', 'Gulls nest under the north pier every spring.'));
        case '/dunes.html':
          return html(200, page('The dunes', 'Marram grass holds the dunes against the wind.'));
        case '/sitemap.xml':
          res.writeHead(200, { 'content-type': 'application/xml' });
          return res.end(
            `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>${origin}/pier.html</loc><lastmod>2026-01-02</lastmod></url>
  <url><loc>${origin}/dunes.html</loc></url>
  <url><loc>${origin}/sitemap.xml</loc></url>
  <url><loc>${origin}/gone.html</loc></url>
</urlset>`,
          );
        case '/moved':
          res.writeHead(302, { location: '/lighthouse.html' });
          return res.end();
        case '/loop':
          res.writeHead(302, { location: '/loop' });
          return res.end();
        case '/big.html':
          return html(200, page('Big', 'x'.repeat(64 * 1024)));
        case '/big-chunked.html':
          // No Content-Length: the limit is found while the body streams.
          res.writeHead(200, { 'content-type': 'text/html' });
          for (let i = 0; i < 64; i++) res.write('y'.repeat(1024));
          return res.end();
        case '/slow.html':
          res.writeHead(200, { 'content-type': 'text/html' });
          res.write('<p>the rest never comes');
          return; // left open: the timeout must end it
        case '/photo.png':
          res.writeHead(200, { 'content-type': 'image/png' });
          return res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
        case '/not-a-sitemap.xml':
          res.writeHead(200, { 'content-type': 'text/xml' });
          return res.end('<rss><channel><title>feed</title></channel></rss>');
        default:
          return html(404, 'not found');
      }
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    site.closeAllConnections();
    await new Promise((resolve) => site.close(resolve));
  });

  describe('with private addresses allowed', () => {
    let t: Deployment;
    const call = (method: string, path: string, body?: unknown) => http(t.baseUrl, method, path, body);
    const settled = (id: string) =>
      eventually(async () => {
        const r = await call('GET', `/rag/collections/web/documents/${encodeURIComponent(id)}`);
        return r.body.status === 'indexed' || r.body.status === 'failed' ? r.body : undefined;
      });

    beforeAll(async () => {
      t = await deploy('postgres', createApp, {
        URL_INGEST_ALLOW_PRIVATE: 'true',
        URL_INGEST_MAX_BYTES: '16384',
        URL_INGEST_TIMEOUT_MS: '1500',
        URL_INGEST_MAX_REDIRECTS: '3',
      });
    });
    afterAll(() => t?.close());

    it('fetches a page in the worker and indexes it through the HTML extractor', async () => {
      const url = `${origin}/lighthouse.html`;
      const res = await call('POST', '/rag/collections/web/documents', { url, metadata: { site: 'coast' } });
      expect(res.status).toBe(202);
      expect(res.body.documents).toEqual([{ id: url, status: 'queued', jobId: expect.any(String) }]);
      const doc = await settled(url);
      expect(doc).toMatchObject({
        status: 'indexed',
        title: 'The lighthouse',
        metadata: { site: 'coast', url },
        chunkCount: 1,
      });
      const found = await call('POST', '/rag/search', { collection: 'web', query: 'keeper storms' });
      expect(found.body.results[0]).toMatchObject({ documentId: url, title: 'The lighthouse' });
      expect(found.body.results[0].text).toContain('The keeper logged eleven storms that winter.');
    });

    it('follows a redirect, recording where the page came from', async () => {
      const res = await call('POST', '/rag/collections/web/documents', {
        documents: [{ id: 'moved', url: `${origin}/moved` }],
      });
      expect(res.status).toBe(202);
      expect(await settled('moved')).toMatchObject({
        status: 'indexed',
        metadata: { url: `${origin}/lighthouse.html` },
      });
    });

    it('reads a sitemap: its pages become documents named by their URLs, itself excepted', async () => {
      const url = `${origin}/sitemap.xml`;
      expect((await call('POST', '/rag/collections/web/documents', { url })).status).toBe(202);
      const sitemap = await settled(url);
      expect(sitemap).toMatchObject({
        status: 'indexed',
        chunkCount: 0,
        metadata: { url, sitemap: 'urlset', pages: 3 },
      });
      expect(await settled(`${origin}/pier.html`)).toMatchObject({
        status: 'indexed',
        title: 'The pier',
        metadata: { sitemap: url, url: `${origin}/pier.html` },
      });
      expect((await settled(`${origin}/dunes.html`)).status).toBe('indexed');
      expect(await settled(`${origin}/gone.html`)).toMatchObject({
        status: 'failed',
        error: `fetching ${origin}/gone.html failed: HTTP 404 Not Found`,
      });
      const found = await call('POST', '/rag/search', { collection: 'web', query: 'marram grass dunes' });
      expect(found.body.results[0].documentId).toBe(`${origin}/dunes.html`);
    });

    it.each([
      ['/big.html', /over the 16384-byte limit \(URL_INGEST_MAX_BYTES\)/],
      ['/big-chunked.html', /over the 16384-byte limit/],
      ['/slow.html', /no complete answer within 1500 ms \(URL_INGEST_TIMEOUT_MS\)/],
      ['/loop', /more than 3 redirects/],
      ['/photo.png', /content type image\/png is not one ragnest can read/],
      ['/not-a-sitemap.xml', /an XML document that is not a sitemap/],
    ])('ends %s as failed with the reason', async (path, reason) => {
      const url = `${origin}${path}`;
      expect((await call('POST', '/rag/collections/web/documents', { url })).status).toBe(202);
      const doc = await settled(url);
      expect(doc.status).toBe('failed');
      expect(doc.error).toMatch(reason);
    });

    it('refuses a URL that is not http(s), or a document with both text and url, with a 400', async () => {
      const ftp = await call('POST', '/rag/collections/web/documents', { url: 'ftp://example.com/a' });
      expect(ftp.status).toBe(400);
      expect(ftp.body.error.message).toMatch(/url: must be an absolute http\(s\) URL/);
      const both = await call('POST', '/rag/collections/web/documents', {
        documents: [{ text: 'a', url: `${origin}/pier.html` }],
      });
      expect(both.status).toBe(400);
      expect(both.body.error.message).toMatch(/either "text" or "url"/);
    });
  });

  describe('on the defaults', () => {
    let t: Deployment;
    const call = (method: string, path: string, body?: unknown) => http(t.baseUrl, method, path, body);

    beforeAll(async () => {
      t = await deploy('postgres', createApp);
    });
    afterAll(() => t?.close());

    it('refuses loopback, IPv4-mapped, link-local and names resolving to them, without connecting', async () => {
      const port = new URL(origin).port;
      const urls = [
        `http://127.0.0.1:${port}/lighthouse.html`,
        `http://localhost:${port}/pier.html`,
        `http://[::ffff:127.0.0.1]:${port}/dunes.html`,
        `http://[::1]:${port}/dunes.html`,
        'http://169.254.169.254/latest/meta-data/',
      ];
      const before = requests.length;
      const res = await call('POST', '/rag/collections/guarded/documents', {
        documents: urls.map((url) => ({ url })),
      });
      expect(res.status).toBe(202);
      for (const url of urls) {
        const doc = await eventually(async () => {
          const r = await call('GET', `/rag/collections/guarded/documents/${encodeURIComponent(url)}`);
          return r.body.status === 'failed' || r.body.status === 'indexed' ? r.body : undefined;
        });
        expect(doc.status).toBe('failed');
        expect(doc.error).toMatch(
          /is a private, loopback or otherwise non-public address \(URL_INGEST_ALLOW_PRIVATE=true allows it\)/,
        );
      }
      expect(requests.length).toBe(before);
    });
  });
});
