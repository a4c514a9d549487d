import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lexical index as compressed posting blocks (libs/search-index, LexicalIndexStore), replacing one
 * row per posting in `chunk_terms`: at 1M chunks those rows took 14.6 GiB and a query read every posting
 * of its terms.
 *
 * - `lexical_blocks`: one row per block of up to 128 postings of one term, keyed by (collection, term,
 *   last chunk id); a term's blocks never overlap. The header columns are in the key's index too, so a
 *   query reads every header of its terms without touching the table, and then the blocks it needs.
 * - `lexical_segments`: one row per indexing transaction with all the postings it added, until a merge
 *   moves them into blocks.
 * - No foreign keys: postings are removed with their chunks, and with their collection.
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
        data bytea NOT NULL,
        PRIMARY KEY (collection_id, term, last_chunk) INCLUDE (first_chunk, postings, max_tf, min_len)
      )`);
    await q.query(`
      CREATE TABLE lexical_segments (
        collection_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        first_chunk bigint NOT NULL,
        last_chunk bigint NOT NULL,
        postings int NOT NULL,
        terms text[] NOT NULL,
        heads bytea NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (collection_id, id)
      )`);
    // Blocks are compressed already, and a query reads slices of a segment's heads and bytes, and scans
    // its terms once per query term: stored out of line uncompressed, none of that decompresses anything.
    for (const column of ['terms', 'heads', 'data'])
      await q.query(`ALTER TABLE lexical_segments ALTER COLUMN ${column} SET STORAGE EXTERNAL`);
    await q.query(`ALTER TABLE collections ADD COLUMN lexical_layout text NOT NULL DEFAULT 'postings'`);
    await q.query(`ALTER TABLE collections ALTER COLUMN lexical_layout SET DEFAULT 'blocks'`);
    await q.query(
      `ALTER TABLE collections ADD CONSTRAINT collections_lexical_layout_check CHECK (lexical_layout IN ('postings', 'blocks'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE collections DROP COLUMN lexical_layout`);
    await q.query(`DROP TABLE IF EXISTS lexical_segments`);
    await q.query(`DROP TABLE IF EXISTS lexical_blocks`);
  }
}
