import type { DataSource } from 'typeorm';
import { LexicalIndex } from '#search-index';

/**
 * How a collection's lexical index differs from its chunks: postings of chunks that do not exist (or
 * that the chunk's term list does not name), chunks' terms with no posting, postings whose length is not
 * the chunk's, and terms whose merged blocks overlap. All zero / empty when the index is exact.
 */
export async function lexicalIndexMismatches(db: DataSource, collection: string) {
  const [{ id }] = await db.query(`SELECT id FROM collections WHERE name = $1`, [collection]);
  const chunks: { id: string; terms: string[]; token_count: number }[] = await db.query(
    `SELECT id, terms, token_count FROM chunks WHERE collection_id = $1`,
    [id],
  );
  const expected = new Map<string, number>();
  for (const c of chunks) for (const term of c.terms) expected.set(`${term} ${c.id}`, c.token_count);
  const { postings, overlapping } = await new LexicalIndex().dump(db, id);
  let orphans = 0;
  let wrongLength = 0;
  let found = 0;
  for (const [term, list] of postings)
    for (const p of list) {
      const len = expected.get(`${term} ${p.chunkId}`);
      if (len === undefined) orphans++;
      else {
        found++;
        if (len !== p.len) wrongLength++;
      }
    }
  return { orphans, missing: expected.size - found, wrongLength, overlapping };
}
