import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lexical index as compressed posting blocks (libs/search-index, LexicalIndexStore), replacing one
 * row per posting in `chunk_terms`: at 1M chunks those rows took 14.6 GiB and a query read every posting
 * of its terms.
 *
 * - One row per block of up to 128 postings of one term, keyed by (collection, term, last chunk id). The
 *   header columns are in the key's index too, so a query reads every header of its terms without
 *   touching the table, and the blocks it then needs by key.
 * - `merged` is false for the fresh blocks each indexing batch adds; merged blocks of a term never
 *   overlap. A partial index finds the fresh ones.
 * - No foreign key: a check per block would cost every batch thousands of look-ups. Blocks are removed
 *   with their chunks, and with their collection.
 * - Existing collections keep `lexical_layout = 'postings'` until LexicalIndexMigration moves them, one
 *   collection at a time, while they can still be searched; new collections start with blocks.
 */
export class LexicalBlocks1732610000000 implements MigrationInterface {
  name = 'LexicalBlocks1732610000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lexical_blocks (
        collection_id uuid NOT NULL,
        term text NOT NULL,
        last_chunk bigint NOT NULL,
        first_chunk bigint NOT NULL,
        postings int NOT NULL,
        max_tf int NOT NULL,
        min_len int NOT NULL,
        merged boolean NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (collection_id, term, last_chunk) INCLUDE (first_chunk, postings, max_tf, min_len, merged)
      )`);
    await q.query(
      `CREATE INDEX lexical_blocks_fresh_idx ON lexical_blocks (collection_id, term, last_chunk) WHERE NOT merged`,
    );
    await q.query(`ALTER TABLE collections ADD COLUMN lexical_layout text NOT NULL DEFAULT 'postings'`);
    await q.query(`ALTER TABLE collections ALTER COLUMN lexical_layout SET DEFAULT 'blocks'`);
    await q.query(
      `ALTER TABLE collections ADD CONSTRAINT collections_lexical_layout_check CHECK (lexical_layout IN ('postings', 'blocks'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE collections DROP COLUMN lexical_layout`);
    await q.query(`DROP TABLE IF EXISTS lexical_blocks`);
  }
}
