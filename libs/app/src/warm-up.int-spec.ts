import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { INGESTION_PORT, RETRIEVAL_PORT } from '#contracts';
import { loadConfig } from '#platform';
import { http, startTestApp, type TestApp } from '#testing';
import { createApp } from './bootstrap.js';
import { warmsUp, warmUp } from './warm-up.js';

describe('warm-up before the single binary listens', () => {
  it('runs on the embedded database with the whole path and the local embedder, nowhere else', () => {
    expect(warmsUp(loadConfig({}))).toBe(true);
    expect(warmsUp(loadConfig({ DATABASE_URL: 'postgres://localhost/x' }))).toBe(false);
    expect(
      warmsUp(
        loadConfig({
          EMBEDDINGS_PROVIDER: 'openai',
          EMBEDDINGS_MODEL: 'text-embedding-3-small',
          EMBEDDINGS_API_KEY: 'k',
        }),
      ),
    ).toBe(false);
    expect(warmsUp(loadConfig({ RAG_CONTEXTS: 'gateway,retrieval' }))).toBe(false);
  });

  it('gives up with a warning, and still deletes its collection, when a stage fails', async () => {
    const deleteCollection = vi.fn().mockResolvedValue({ deleted: true });
    const ports = new Map<unknown, unknown>([
      [INGESTION_PORT, { ingest: vi.fn().mockRejectedValue(new Error('disk full')), deleteCollection }],
      [RETRIEVAL_PORT, { search: vi.fn() }],
    ]);
    const app = { get: (token: unknown) => ports.get(token) } as unknown as INestApplication;
    await expect(warmUp(app)).resolves.toBeUndefined();
    expect(deleteCollection).toHaveBeenCalledWith({
      collection: expect.stringMatching(/^ragnest-warm-up-/) as string,
    });
  });

  describe('on PGlite', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp(createApp, 'pglite');
    }, 120_000);

    afterAll(() => t?.close());

    it('indexes, searches and deletes a collection of its own, and leaves nothing behind', async () => {
      const took = await warmUp(t.app);
      expect(took).toBeGreaterThan(0);
      expect((await http(t.baseUrl, 'GET', '/rag/collections')).body).toEqual({ collections: [] });
      const db = t.app.get(DataSource);
      const [left] = await db.query(
        `SELECT (SELECT count(*) FROM collections)::int AS collections,
                (SELECT count(*) FROM documents)::int AS documents,
                (SELECT count(*) FROM chunks)::int AS chunks,
                (SELECT count(*) FROM chunk_vectors)::int AS vectors,
                (SELECT count(*) FROM lexical_segments)::int AS segments,
                (SELECT count(*) FROM lexical_blocks)::int AS blocks`,
      );
      expect(left).toEqual({ collections: 0, documents: 0, chunks: 0, vectors: 0, segments: 0, blocks: 0 });
    });
  });
});
