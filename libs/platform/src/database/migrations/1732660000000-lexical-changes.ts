import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which collections' lexical blocks changed, so that a process can keep its terms' block headers between
 * searches (LexicalIndex's HeaderCache) and know, in the statement that reads a search's segments, whether
 * they are still the collection's: a query's terms have thousands of blocks in a large collection, and
 * reading their headers was about a sixth of a search's time at 100k chunks.
 *
 * Every statement that inserts, updates or deletes `lexical_blocks` appends one row per collection it
 * touched (a statement-level trigger over its transition tables), versioned from the blocks' sequence.
 * Appending takes no lock another transaction waits for. A collection's blocks are as a process last read
 * them while the count and the largest version of its rows are the same: rows are only added, except by a
 * merge round, which holds the collection's lock exclusively (every writer of its blocks holds it, shared
 * or exclusive), and which adds a row newer than all before deleting the older ones. No foreign key, as
 * for the blocks: a collection's rows go with its blocks (LexicalIndexStore.drop).
 */
export class LexicalChanges1732660000000 implements MigrationInterface {
  name = 'LexicalChanges1732660000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lexical_changes (
        collection_id uuid NOT NULL,
        version bigint NOT NULL DEFAULT nextval('lexical_block_versions'),
        PRIMARY KEY (collection_id, version)
      )`);
    await q.query(`
      CREATE FUNCTION record_lexical_changes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO lexical_changes (collection_id) SELECT DISTINCT collection_id FROM changed;
        RETURN NULL;
      END $$`);
    for (const [op, table] of [
      ['INSERT', 'NEW TABLE AS changed'],
      ['UPDATE', 'NEW TABLE AS changed'],
      ['DELETE', 'OLD TABLE AS changed'],
    ]) {
      await q.query(
        `CREATE TRIGGER lexical_blocks_changes_${op.toLowerCase()} AFTER ${op} ON lexical_blocks
           REFERENCING ${table} FOR EACH STATEMENT EXECUTE FUNCTION record_lexical_changes()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const op of ['insert', 'update', 'delete'])
      await q.query(`DROP TRIGGER IF EXISTS lexical_blocks_changes_${op} ON lexical_blocks`);
    await q.query(`DROP FUNCTION IF EXISTS record_lexical_changes()`);
    await q.query(`DROP TABLE IF EXISTS lexical_changes`);
  }
}
