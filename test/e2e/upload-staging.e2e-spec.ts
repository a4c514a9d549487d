import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { createApp } from '#app';
import { eventually, http, startTestApp, type TestApp } from '#testing';
import { contentHash } from '../../libs/ingestion/src/domain/content-hash.js';
import { UploadPartsRepository } from '../../libs/ingestion/src/infrastructure/uploads/upload-parts.repository.js';

const MIB = 1024 * 1024;

/**
 * Uploaded files are streamed into ingestion's staging table in 1 MiB parts and only a reference crosses
 * the transport (issue 21). What a client sees stays as it was: the content hash of the bytes, `unchanged`
 * for the same file again, a new version for another; and the staged parts go once they are not needed.
 */
describe.each(['postgres', 'pglite'] as const)('staged uploads (%s)', (kind) => {
  let t: TestApp;
  let db: DataSource;
  const upload = (bytes: Uint8Array | string, name: string) => {
    const form = new FormData();
    form.append('files', new Blob([bytes]), name);
    return http(t.baseUrl, 'POST', '/rag/collections/staged/documents', form);
  };
  const doc = (id: string) => http(t.baseUrl, 'GET', `/rag/collections/staged/documents/${id}`);
  const parts = async () => Number((await db.query(`SELECT count(*) AS n FROM ingestion_upload_parts`))[0].n);
  const settled = (id: string, status: string, version: number) =>
    eventually(async () => {
      const d = await doc(id);
      return d.body.status === status && d.body.version === version;
    }, 60_000);

  beforeAll(async () => {
    t = await startTestApp(createApp, kind, { UPLOAD_LIMIT_BYTES: String(8 * MIB) });
    db = t.app.get(DataSource);
  }, 120_000);
  afterAll(async () => t?.close());

  // Several parts, the last one short, and a multi-byte character across a part boundary.
  // ('tide ' is 5 bytes and 1 MiB - 1 = 5 × 209,715: the é's two bytes straddle the first boundary.)
  const text = `${'tide '.repeat(209_715)}é ${'the tide turns twice a day. '.repeat(80_000)}`;

  it('indexes a file of several parts under the hash of its bytes, then lets the parts go', async () => {
    const res = await upload(text, 'tides.txt');
    expect(res.status, res.text).toBe(202);
    expect(res.body.documents[0]).toMatchObject({ id: 'tides.txt', status: 'queued' });
    await settled('tides.txt', 'indexed', 1);
    const d = await doc('tides.txt');
    expect(d.body.contentHash).toBe(
      contentHash({ bytes: Buffer.from(text), metadata: { filename: 'tides.txt' } }),
    );
    expect(d.body.chunkCount).toBeGreaterThan(1);
    // Released just after the batch that indexed it commits.
    await eventually(async () => (await parts()) === 0, 10_000);
    expect(await db.query(`SELECT 1 FROM documents WHERE source_blob IS NOT NULL`)).toEqual([]);
  }, 120_000);

  it('answers unchanged for the same file again, keeping none of its parts', async () => {
    const res = await upload(text, 'tides.txt');
    expect(res.body.documents[0]).toMatchObject({ id: 'tides.txt', status: 'unchanged' });
    expect(await parts()).toBe(0);
  });

  it('makes a new version of a changed file', async () => {
    const res = await upload(text + ' and the moon pulls them.', 'tides.txt');
    expect(res.body.documents[0]).toMatchObject({ id: 'tides.txt', status: 'queued' });
    await settled('tides.txt', 'indexed', 2);
    await eventually(async () => (await parts()) === 0, 10_000);
  }, 120_000);

  it('keeps a failed file for a retry, and lets it go with its document', async () => {
    expect((await upload(' '.repeat(2 * MIB), 'blank.txt')).status).toBe(202);
    await settled('blank.txt', 'failed', 1);
    expect(await parts()).toBe(2);
    const retried = await http(t.baseUrl, 'POST', '/rag/collections/staged/documents/blank.txt/retry');
    expect(retried.status).toBe(202);
    await settled('blank.txt', 'failed', 2);
    // The retry read the file again: it failed for its content, not for missing bytes.
    expect((await doc('blank.txt')).body.error).not.toMatch(/gone/);
    expect((await http(t.baseUrl, 'DELETE', '/rag/collections/staged/documents/blank.txt')).status).toBe(204);
    expect(await t.app.get(UploadPartsRepository).sweepOrphans(0)).toBe(1);
    expect(await parts()).toBe(0);
  }, 120_000);

  it('sweeps a staged file whose ingest never came, but not a recent one', async () => {
    const staging = t.app.get(UploadPartsRepository);
    const staged = await staging.stage(
      (async function* () {
        yield Buffer.from('half of a file');
      })(),
      { size: 14, title: null, metadata: {} },
    );
    expect(staged.size).toBe(14);
    expect(await staging.sweepOrphans(60_000)).toBe(0);
    expect(await staging.sweepOrphans(0)).toBe(1);
    expect(await parts()).toBe(0);
  });
});
