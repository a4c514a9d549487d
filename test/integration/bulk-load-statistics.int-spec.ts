import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { INGESTION_PORT, type IngestionPort } from '#contracts';
import { INGESTION_QUEUE, type IngestionQueue } from '#ingestion';
import { startTestApp, type TestApp } from '#testing';
import { createApp } from '#app';

/**
 * A bulk load is never idle until it ends, so the idle-time VACUUM ANALYZE comes too late for it: the
 * planner must get statistics in the middle of the load, or a batch's look-ups by document become
 * scans of the whole chunks table.
 */
describe('statistics during a bulk load on postgres', () => {
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    t = await startTestApp(createApp, 'postgres');
    db = t.app.get(DataSource);
  });

  afterAll(() => t?.close());

  it('analyses the tables while documents are still waiting to be indexed', async () => {
    const documents = Array.from({ length: 4000 }, (_, i) => ({
      id: `d${i}`,
      text: `Short document ${i} about topic ${i % 17}.`,
      metadata: {},
    }));
    const ingestion = t.app.get<IngestionPort>(INGESTION_PORT);
    for (let i = 0; i < documents.length; i += 1000)
      await ingestion.ingest({ collection: 'bulk', documents: documents.slice(i, i + 1000) });

    // Read in one statement: whether chunks.document_id has statistics, and how many documents wait.
    const probe = async () =>
      (
        await db.query<{ analysed: boolean; pending: number }[]>(
          `SELECT EXISTS (SELECT 1 FROM pg_stats WHERE tablename = 'chunks' AND attname = 'document_id') AS analysed,
                  (SELECT count(*)::int FROM documents WHERE status IN ('queued', 'processing')) AS pending`,
        )
      )[0];
    let seen: { analysed: boolean; pending: number } | undefined;
    for (;;) {
      const p = await probe();
      if (p.analysed || p.pending === 0) {
        seen = p;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toMatchObject({ analysed: true });
    expect(seen.pending).toBeGreaterThan(0);
    await t.app.get<IngestionQueue>(INGESTION_QUEUE).drained();
  }, 120_000);
});
