import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, startTestApp, type TestApp } from '#testing';
import { createApp } from '#app';

/** Multipart uploads: spooled to disk and removed, sniffed from their content, capped and admitted. */
describe('bounded uploads', () => {
  let t: TestApp;
  let spool: string;
  const upload = (parts: [Blob, string][], headers?: Record<string, string>) => {
    const form = new FormData();
    for (const [blob, name] of parts) form.append('files', blob, name);
    return http(t.baseUrl, 'POST', '/rag/collections/up/documents', form, headers);
  };
  const spooled = () => readdirSync(spool).flatMap((d) => readdirSync(join(spool, d)));
  // Files are removed as they are handed on, and whatever is left once the response has gone.
  const spoolEmpties = () => eventually(async () => spooled().length === 0, 5000);

  beforeAll(async () => {
    spool = mkdtempSync(join(tmpdir(), 'ragnest-spool-test-'));
    t = await startTestApp(createApp, 'postgres', {
      UPLOAD_TMP_DIR: spool,
      UPLOAD_LIMIT_BYTES: String(64 * 1024),
      UPLOAD_REQUEST_LIMIT_BYTES: String(256 * 1024),
      UPLOAD_MAX_CONCURRENT: '1',
      HTTP_BODY_TIMEOUT_MS: '3000',
    });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(spool, { recursive: true, force: true });
  });

  it('accepts text files and leaves nothing in the spool', async () => {
    const res = await upload([
      [new Blob(['the moon pulls the tides']), 'moon.txt'],
      [new Blob(['# Sun\nthe sun warms the sea']), 'sun.md'],
    ]);
    expect(res.status).toBe(202);
    expect(res.body.documents.map((d: { id: string }) => d.id)).toEqual(['moon.txt', 'sun.md']);
    await spoolEmpties();
  });

  it.each([
    [
      'a .pdf that is a PNG',
      new Blob([
        new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]),
      ]),
      'paper.pdf',
      /claims to be application\/pdf but its content is image\/png/,
    ],
    [
      'a .txt that is a PNG',
      new Blob([
        new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]),
      ]),
      'notes.txt',
      /image\/png/,
    ],
    [
      'a .md that is a zip',
      new Blob([new Uint8Array([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0])]),
      'a.md',
      /zip/,
    ],
  ])('refuses %s with 415, ingesting none of the request', async (_what, blob, name, message) => {
    const res = await upload([
      [new Blob(['fine text']), 'fine.txt'],
      [blob, name],
    ]);
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('GATEWAY.UNSUPPORTED_MEDIA_TYPE');
    expect(res.body.error.message).toMatch(message);
    expect((await http(t.baseUrl, 'GET', '/rag/collections/up/documents/fine.txt')).status).toBe(404);
    await spoolEmpties();
  });

  it('refuses a file over the per-file limit (413) and a request over the whole-request limit (413)', async () => {
    const big = await upload([[new Blob(['x'.repeat(65 * 1024)]), 'big.txt']]);
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('GATEWAY.PAYLOAD_TOO_LARGE');
    const parts: [Blob, string][] = Array.from({ length: 5 }, (_, i) => [
      new Blob(['y'.repeat(60 * 1024)]),
      `p${i}.txt`,
    ]);
    const whole = await upload(parts);
    expect(whole.status).toBe(413);
    expect(whole.body.error.message).toMatch(/262144 bytes/);
    await spoolEmpties();
  });

  it('refuses a duplicate file name with 400', async () => {
    const res = await upload([
      [new Blob(['one']), 'same.txt'],
      [new Blob(['two']), 'same.txt'],
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/same\.txt.*twice/);
  });

  it('answers 503 with Retry-After while the upload slots are taken', async () => {
    // A first upload that sends its headers and part of its body, then waits: it holds the only slot.
    const port = Number(new URL(t.baseUrl).port);
    const slow = connect(port, '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let data = '';
      slow.on('data', (d) => (data += d.toString()));
      slow.on('close', () => resolve(data));
    });
    slow.write(
      'POST /rag/collections/up/documents HTTP/1.1\r\nHost: x\r\n' +
        'Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000\r\n\r\n--b\r\n',
    );
    await new Promise((r) => setTimeout(r, 300));
    const refused = await upload([[new Blob(['later']), 'later.txt']]);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('GATEWAY.OVERLOADED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The slow one runs into the body deadline, and frees its slot.
    expect(await closed).toMatch(/^HTTP\/1\.1 408/);
    expect((await upload([[new Blob(['later']), 'later.txt']])).status).toBe(202);
  });
});
