import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many documents of a collection are in each status, without counting them: counting took 2.2 s per
 * request at 500k documents, and a client polling a bulk load's progress kept a core busy with it.
 *
 * Every statement that inserts, updates or deletes documents appends what it changed, per collection and
 * status, to `document_status_deltas` (a statement-level trigger over its transition tables), and a
 * collection's counts are the sums of its rows. Appending takes no lock that another transaction waits
 * for, unlike one counter row per status, which every indexing batch would update; maintenance folds
 * the rows into one per status when ingestion is idle (DocumentRepository.compactStatusCounts). A
 * deleted collection's documents add nothing: the trigger skips collections that no longer exist, and
 * their rows go with them (ON DELETE CASCADE).
 */
export class DocumentStatusCounts1732590000000 implements MigrationInterface {
  name = 'DocumentStatusCounts1732590000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE document_status_deltas (
        collection_id uuid NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        status text NOT NULL,
        documents bigint NOT NULL
      )`);
    await q.query(
      `CREATE INDEX document_status_deltas_collection_idx ON document_status_deltas (collection_id)`,
    );
    await q.query(`
      CREATE FUNCTION record_document_status_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Each branch names only the transition tables its operation has.
        IF TG_OP = 'INSERT' THEN
          INSERT INTO document_status_deltas
          SELECT n.collection_id, n.status, count(*) FROM new_rows n
           WHERE EXISTS (SELECT 1 FROM collections c WHERE c.id = n.collection_id)
           GROUP BY 1, 2;
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO document_status_deltas
          SELECT o.collection_id, o.status, -count(*) FROM old_rows o
           WHERE EXISTS (SELECT 1 FROM collections c WHERE c.id = o.collection_id)
           GROUP BY 1, 2;
        ELSE
          INSERT INTO document_status_deltas
          SELECT d.collection_id, d.status, sum(d.n) FROM (
                   SELECT collection_id, status, 1 AS n FROM new_rows
                   UNION ALL
                   SELECT collection_id, status, -1 FROM old_rows) d
           WHERE EXISTS (SELECT 1 FROM collections c WHERE c.id = d.collection_id)
           GROUP BY 1, 2 HAVING sum(d.n) <> 0;
        END IF;
        RETURN NULL;
      END $$`);
    for (const [op, tables] of [
      ['INSERT', 'NEW TABLE AS new_rows'],
      ['UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows'],
      ['DELETE', 'OLD TABLE AS old_rows'],
    ]) {
      await q.query(
        `CREATE TRIGGER documents_status_deltas_${op.toLowerCase()} AFTER ${op} ON documents
           REFERENCING ${tables} FOR EACH STATEMENT EXECUTE FUNCTION record_document_status_deltas()`,
      );
    }
    await q.query(
      `INSERT INTO document_status_deltas SELECT collection_id, status, count(*) FROM documents GROUP BY 1, 2`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const op of ['insert', 'update', 'delete'])
      await q.query(`DROP TRIGGER IF EXISTS documents_status_deltas_${op} ON documents`);
    await q.query(`DROP FUNCTION IF EXISTS record_document_status_deltas()`);
    await q.query(`DROP TABLE IF EXISTS document_status_deltas`);
  }
}
