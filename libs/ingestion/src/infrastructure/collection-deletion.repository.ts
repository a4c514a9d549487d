import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DATABASE, type Database, transactionRetryingConflicts } from '#platform';
import { dropVectorIndex, LexicalIndex } from '#search-index';

/**
 * Removes a whole collection: its vectors (every embedding set, with their HNSW indexes), its lexical
 * index, its chunks, and then the collection row, whose foreign keys take its documents, sets and status
 * counts with it. One transaction, holding the collection's row for update, so an indexing transaction
 * (which key-share locks it) either commits before or finds its documents gone and writes nothing.
 */
@Injectable()
export class CollectionDeletionRepository {
  constructor(
    private readonly db: DataSource,
    private readonly lexical: LexicalIndex,
    @Inject(DATABASE) private readonly database: Database,
  ) {}

  /** False when there is no such collection. */
  async deleteCollection(name: string): Promise<boolean> {
    const setIds = await transactionRetryingConflicts(this.db, async (m) => {
      const rows: { id: string }[] = await m.query(`SELECT id FROM collections WHERE name = $1 FOR UPDATE`, [
        name,
      ]);
      if (rows.length === 0) return undefined;
      const id = rows[0].id;
      const sets: { id: number }[] = await m.query(`SELECT id FROM embedding_sets WHERE collection_id = $1`, [
        id,
      ]);
      const ids = sets.map((s) => Number(s.id));
      await m.query(`DELETE FROM chunk_vectors WHERE set_id = ANY($1::int[])`, [ids]);
      await this.lexical.drop(m, id);
      await m.query(`DELETE FROM chunks WHERE collection_id = $1`, [id]);
      await m.query(`DELETE FROM collections WHERE id = $1`, [id]);
      return ids;
    });
    if (!setIds) return false;
    // Each set's partial HNSW index outlives its rows; dropped outside the transaction (concurrently on
    // PostgreSQL), as a retired set's is.
    for (const id of setIds) await dropVectorIndex(this.db, this.database.kind, id);
    return true;
  }
}
