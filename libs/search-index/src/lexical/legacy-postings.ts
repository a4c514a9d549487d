import type { ChunkTerms, RemovedChunk } from './lexical-index.store.js';
import { insertBlocks, LOCK_KEY_SQL, type Sql } from './lexical-rows.js';
import { type Posting, encodeBlocks } from './posting-block.js';

/** Postings read from `chunk_terms` per page while a collection moves to blocks. */
const MOVE_PAGE = 200_000;

/**
 * The lexical index as it was before blocks: one row per posting in `chunk_terms`. It is kept only for
 * collections that have not moved yet (`collections.lexical_layout = 'postings'`): LexicalIndexMigration
 * moves each at start, and until it has, this writes, deletes and searches it as before, so the move
 * loses nothing and the collection stays searchable. Remove it with the table once no supported version
 * can leave a collection unmoved.
 */
export class LegacyPostings {
  async add(m: Sql, collectionId: string, chunks: readonly ChunkTerms[]): Promise<void> {
    const term: string[] = [];
    const chunk: string[] = [];
    const tf: number[] = [];
    const len: number[] = [];
    for (const c of chunks)
      for (const [t, f] of c.terms) {
        term.push(t);
        chunk.push(c.id);
        tf.push(f);
        len.push(c.length);
      }
    await m.query(
      `INSERT INTO chunk_terms (collection_id, term, chunk_id, tf, len)
       SELECT $1, u.term, u.chunk_id, u.tf, u.len FROM unnest($2::text[], $3::bigint[], $4::real[], $5::int[])
           AS u(term, chunk_id, tf, len)
        ORDER BY 1, 2, 3`,
      [collectionId, term, chunk, tf, len],
    );
  }

  async remove(m: Sql, chunks: readonly RemovedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    await m.query(
      `DELETE FROM chunk_terms t
        USING (SELECT r.collection_id, r.id, unnest(r.terms) AS term
                 FROM jsonb_to_recordset($1::jsonb) AS r(collection_id uuid, id bigint, terms text[])) o
        WHERE t.collection_id = o.collection_id AND t.term = o.term AND t.chunk_id = o.id`,
      [JSON.stringify(chunks.map((c) => ({ collection_id: c.collectionId, id: c.id, terms: c.terms })))],
    );
  }

  /** Okapi BM25 over every posting of the query terms, as ragnest searched before blocks. */
  async search(
    m: Sql,
    collectionId: string,
    terms: ReadonlyMap<string, number>,
    scoring: { k1: number; b: number; chunks: number; avgdl: number },
    limit: number,
    filter?: { sql: string; params: unknown[] },
  ): Promise<{ id: string; score: number }[]> {
    const rows: { id: string; score: number }[] = await m.query(
      `WITH q AS (SELECT * FROM unnest($2::text[], $3::float8[]) AS q(term, qtf)),
            k AS (SELECT $4::float8 AS n, $5::float8 AS k1, $6::float8 AS b, $7::float8 AS avgdl),
            w AS (
              SELECT q.term, q.qtf * ln(1 + (greatest(k.n, d.df) - d.df + 0.5) / (d.df + 0.5)) AS idf
                FROM q CROSS JOIN k CROSS JOIN LATERAL (
                       SELECT count(*)::float8 AS df FROM chunk_terms t
                        WHERE t.collection_id = $1 AND t.term = q.term) d
               WHERE d.df > 0),
            s AS (
              SELECT t.chunk_id,
                     sum(w.idf * t.tf * (k.k1 + 1) / (t.tf + k.k1 * (1 - k.b + k.b * t.len / k.avgdl))) AS score
                FROM w JOIN chunk_terms t ON t.collection_id = $1 AND t.term = w.term CROSS JOIN k
               GROUP BY t.chunk_id)
       SELECT s.chunk_id AS id, s.score FROM s
       ${filter ? `JOIN chunks c ON c.id = s.chunk_id WHERE ${filter.sql}` : ''}
       ORDER BY s.score DESC, s.chunk_id
       LIMIT $8`,
      [
        collectionId,
        [...terms.keys()],
        [...terms.values()],
        scoring.chunks,
        scoring.k1,
        scoring.b,
        scoring.avgdl,
        limit,
        ...(filter ? filter.params : []),
      ],
    );
    return rows.map((r) => ({ id: String(r.id), score: Number(r.score) }));
  }

  /**
   * Moves one collection's postings into merged blocks, in the caller's transaction, which must hold the
   * collection's row locked (FOR UPDATE: indexing and deleting transactions wait, searches go on reading
   * the postings). Pages through the postings in (term, chunk) order; a term cut by a page's end is carried
   * into the next. Returns the postings moved.
   */
  async moveToBlocks(m: Sql, collectionId: string): Promise<number> {
    // As every writer of a collection's blocks does (see LexicalIndexStore.mergeRound).
    await m.query(`SELECT pg_advisory_xact_lock_shared(${LOCK_KEY_SQL})`, [collectionId]);
    let moved = 0;
    let after: { term: string; chunk: string } | undefined;
    let carried: { term: string; postings: Posting[] } | undefined;
    for (;;) {
      const rows: { term: string; chunk_id: string; tf: number; len: number }[] = await m.query(
        `SELECT term, chunk_id, tf, len FROM chunk_terms
          WHERE collection_id = $1 ${after ? 'AND (term, chunk_id) > ($3, $4::bigint)' : ''}
          ORDER BY term, chunk_id LIMIT $2`,
        after ? [collectionId, MOVE_PAGE, after.term, after.chunk] : [collectionId, MOVE_PAGE],
      );
      const byTerm: { term: string; postings: Posting[] }[] = carried ? [carried] : [];
      for (const r of rows) {
        let last = byTerm.at(-1);
        if (!last || last.term !== r.term) byTerm.push((last = { term: r.term, postings: [] }));
        last.postings.push({ chunkId: Number(r.chunk_id), tf: Math.round(r.tf), len: r.len });
      }
      const done = rows.length < MOVE_PAGE;
      carried = done ? undefined : byTerm.pop();
      const blocks = byTerm.flatMap(({ term, postings }) =>
        encodeBlocks(postings).map((b) => ({ ...b, term })),
      );
      await insertBlocks(m, collectionId, blocks);
      moved += rows.length;
      if (done) break;
      const last = rows.at(-1)!;
      after = { term: last.term, chunk: last.chunk_id };
    }
    await m.query(`DELETE FROM chunk_terms WHERE collection_id = $1`, [collectionId]);
    return moved;
  }
}
