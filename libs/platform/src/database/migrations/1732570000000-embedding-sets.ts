import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Vectors move out of `chunks` into embedding sets, so a collection can be re-embedded while search keeps
 * using the vectors it has.
 *
 * - embedding_sets: one `active` set per collection (what search reads) and at most one `building` set
 *   (a re-index under way, filled beside the active one and switched to in one transaction); `retired`
 *   sets are waiting to be dropped. `indexed` says whether the set's HNSW index has been built.
 * - chunk_vectors: one vector per (set, chunk). Each set gets its own partial HNSW index
 *   (`WHERE set_id = n`, see vector-index.ts), built in one pass once a bulk load is done: building a
 *   graph at once is several times faster than inserting into it row by row. Until then, search scans
 *   the set's vectors exactly through the primary key. No foreign key, for bulk-load speed, as for
 *   chunk_terms: vectors are deleted with their chunks.
 * - chunks(collection_id, id) lets a re-index walk a collection's chunks in order.
 */
export class EmbeddingSets1732570000000 implements MigrationInterface {
  name = 'EmbeddingSets1732570000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE embedding_sets (
        id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        collection_id uuid NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        model text NOT NULL,
        dimensions int NOT NULL,
        state text NOT NULL CHECK (state IN ('building', 'active', 'retired')),
        indexed boolean NOT NULL DEFAULT false,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX embedding_sets_one_active ON embedding_sets (collection_id) WHERE state = 'active'`,
    );
    await q.query(
      `CREATE UNIQUE INDEX embedding_sets_one_building ON embedding_sets (collection_id) WHERE state = 'building'`,
    );
    await q.query(`
      CREATE TABLE chunk_vectors (
        set_id int NOT NULL,
        chunk_id bigint NOT NULL,
        embedding vector NOT NULL,
        PRIMARY KEY (set_id, chunk_id)
      )`);
    await q.query(`CREATE INDEX chunks_collection_idx ON chunks (collection_id, id)`);
    // Existing collections keep their vectors as their active set; the set indexes are built on first use.
    await q.query(`
      INSERT INTO embedding_sets (collection_id, model, dimensions, state)
      SELECT id, embedding_model, dimensions, 'active' FROM collections`);
    await q.query(`
      INSERT INTO chunk_vectors (set_id, chunk_id, embedding)
      SELECT s.id, c.id, c.embedding FROM chunks c JOIN embedding_sets s ON s.collection_id = c.collection_id`);
    // Dropping the column drops the per-dimension HNSW indexes built on it.
    await q.query(`ALTER TABLE chunks DROP COLUMN embedding, DROP COLUMN dimensions`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE chunks ADD COLUMN dimensions int, ADD COLUMN embedding vector`);
    await q.query(`
      UPDATE chunks c SET embedding = v.embedding, dimensions = s.dimensions
        FROM chunk_vectors v JOIN embedding_sets s ON s.id = v.set_id AND s.state = 'active'
       WHERE v.chunk_id = c.id`);
    await q.query(`DELETE FROM chunks WHERE embedding IS NULL`);
    await q.query(
      `ALTER TABLE chunks ALTER COLUMN embedding SET NOT NULL, ALTER COLUMN dimensions SET NOT NULL`,
    );
    await q.query(`DROP INDEX IF EXISTS chunks_collection_idx`);
    await q.query(`DROP TABLE IF EXISTS chunk_vectors`);
    await q.query(`DROP TABLE IF EXISTS embedding_sets`);
  }
}
