import { Injectable } from '@nestjs/common';
import type { Metadata } from '#contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { transactionRetryingConflicts } from '#platform';
import { LexicalIndex, type LexicalLayout } from '#search-index';
import { type DocumentJob, type DocumentSource, jobId } from '../domain/document-job.js';
import { embeddingInput } from '../domain/embedding-input.js';
import { EmbeddingSetRepository, type EmbeddingSet } from './embedding-set.repository.js';

export interface IndexedChunk {
  position: number;
  text: string;
  /** The chunk's own metadata (a slide, a sheet's rows) when it differs from its document's. */
  metadata?: Metadata;
  tokenCount: number;
  terms: Map<string, number>;
  /** The chunk's vector in each embedding set it was embedded for, as a pgvector literal. */
  vectors: Map<number, string>;
}

/** The sets of a batch's collections changed between embedding and writing: embed again. */
export class EmbeddingSetsChangedError extends Error {
  constructor() {
    super('the collection was re-indexed while these documents were embedded');
    this.name = 'EmbeddingSetsChangedError';
  }
}

/**
 * A document's chunks: their text, vectors and postings written (through #search-index's LexicalIndex)
 * and removed, and the upkeep of the tables that hold them. Replacing a document's chunks and postings
 * happens in one transaction that holds the document's row lock, so readers see the old set or the new
 * one, never a mix, and a superseded or deleted version never lands.
 */
@Injectable()
export class ChunkRepository {
  constructor(
    private readonly db: DataSource,
    private readonly sets: EmbeddingSetRepository,
    private readonly lexical: LexicalIndex,
  ) {}

  /**
   * Replaces the chunks of several document versions in one transaction. Versions that were superseded
   * or deleted meanwhile are skipped. Every chunk gets its vector in each set of its collection that it
   * was embedded for; a set that became active since the batch was embedded (a re-index switched) is
   * missing its vectors, so the batch is refused with EmbeddingSetsChangedError, to be embedded again.
   * A building set may miss them: the re-index fills it before it switches. Returns the versions indexed.
   */
  async replaceChunks(batch: { source: DocumentSource; chunks: IndexedChunk[] }[]): Promise<DocumentJob[]> {
    if (batch.length === 0) return [];
    return transactionRetryingConflicts(this.db, async (m) => {
      // Key-share locks on the collections hold back a re-index switch until this commits (see switchTo).
      const collectionIds = [...new Set(batch.map((b) => b.source.collectionId))].sort();
      const layouts = await this.lockCollections(m, collectionIds);
      const sets = await this.sets.writableSets(collectionIds, m);
      const ids = batch.map((b) => b.source.documentId);
      const locked: { id: string; version: number }[] = await m.query(
        `SELECT id, version FROM documents WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
        [ids],
      );
      const current = new Set(locked.map((r) => `${r.id}:${r.version}`));
      const live = batch.filter((b) => current.has(jobId(b.source)));
      if (live.length === 0) return [];
      const liveIds = live.map((b) => b.source.documentId);

      const removed = await this.removeChunks(m, liveIds, layouts);
      const chunkIds = await this.insertChunks(m, live);
      await this.insertVectors(m, live, chunkIds, sets);
      await this.indexTerms(m, live, chunkIds, layouts);

      const perCollection = new Map<string, { chunks: number; tokens: number }>();
      for (const { source, chunks } of live) {
        const agg = perCollection.get(source.collectionId) ?? { chunks: 0, tokens: 0 };
        agg.chunks += chunks.length;
        agg.tokens += chunks.reduce((s, c) => s + c.tokenCount, 0);
        perCollection.set(source.collectionId, agg);
      }
      for (const r of removed) {
        const agg = perCollection.get(r.collectionId) ?? { chunks: 0, tokens: 0 };
        agg.chunks -= r.chunks;
        agg.tokens -= r.tokens;
        perCollection.set(r.collectionId, agg);
      }
      await this.adjustCounters(m, perCollection);
      // Title and metadata as extraction completed them (a file's own title, author, sheet names).
      await m.query(
        `UPDATE documents d SET status = 'indexed', stage = NULL, progress = 100, chunk_count = j.n, error = NULL,
                title = j.title, metadata = j.metadata, updated_at = now()
           FROM unnest($1::bigint[], $2::int[], $3::text[], $4::jsonb[]) AS j(id, n, title, metadata)
          WHERE d.id = j.id`,
        [
          liveIds,
          live.map((b) => b.chunks.length),
          live.map((b) => b.source.title),
          live.map((b) => JSON.stringify(b.source.metadata)),
        ],
      );
      return live.map((b) => ({ documentId: b.source.documentId, version: b.source.version }));
    });
  }

  /**
   * Inserts the chunks in one statement; returns the chunk ids in batch order. Each chunk keeps the list
   * of its terms (as one JSON array on the wire: cheaper for the driver than nested arrays), which is
   * how its postings are found again when it is removed.
   */
  private async insertChunks(
    m: EntityManager,
    live: { source: DocumentSource; chunks: IndexedChunk[] }[],
  ): Promise<string[]> {
    const docIdx: string[] = [];
    const collectionIdx: string[] = [];
    const positions: number[] = [];
    const titles: (string | null)[] = [];
    const texts: string[] = [];
    const metadata: string[] = [];
    const tokenCounts: number[] = [];
    const termLists: string[] = [];
    for (const { source, chunks } of live) {
      const meta = JSON.stringify(source.metadata);
      for (const c of chunks) {
        docIdx.push(source.documentId);
        collectionIdx.push(source.collectionId);
        positions.push(c.position);
        titles.push(source.title);
        texts.push(c.text);
        metadata.push(c.metadata === undefined ? meta : JSON.stringify(c.metadata));
        tokenCounts.push(c.tokenCount);
        termLists.push(JSON.stringify([...c.terms.keys()]));
      }
    }
    const inserted: { id: string }[] = await m.query(
      `WITH u AS (
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::jsonb[])
           WITH ORDINALITY AS u(collection_id, document_id, position, title, text, metadata, token_count, terms, ord)),
       ins AS (
         INSERT INTO chunks (collection_id, document_id, position, title, text, metadata, token_count, terms)
         SELECT u.collection_id, u.document_id, u.position, u.title, u.text, u.metadata::jsonb, u.token_count,
                ARRAY(SELECT jsonb_array_elements_text(u.terms))
           FROM u ORDER BY u.ord
         RETURNING id, document_id, position)
       SELECT ins.id FROM ins JOIN u USING (document_id, position) ORDER BY u.ord`,
      [collectionIdx, docIdx, positions, titles, texts, metadata, tokenCounts, termLists],
    );
    return inserted.map((r) => String(r.id));
  }

  private async insertVectors(
    m: EntityManager,
    live: { source: DocumentSource; chunks: IndexedChunk[] }[],
    chunkIds: string[],
    sets: EmbeddingSet[],
  ) {
    const setIds: number[] = [];
    const ids: string[] = [];
    const vectors: string[] = [];
    let i = 0;
    for (const { source, chunks } of live) {
      const ofCollection = sets.filter((s) => s.collectionId === source.collectionId);
      for (const c of chunks) {
        const id = chunkIds[i++];
        for (const set of ofCollection) {
          const vector = c.vectors.get(set.id);
          if (vector === undefined) {
            if (set.state === 'active') throw new EmbeddingSetsChangedError();
            continue;
          }
          setIds.push(set.id);
          ids.push(id);
          vectors.push(vector);
        }
      }
    }
    // Slices keep each statement's parameter arrays bounded.
    const slice = 5_000;
    for (let s = 0; s < ids.length; s += slice) {
      await m.query(
        `INSERT INTO chunk_vectors (set_id, chunk_id, embedding)
         SELECT u.set_id, u.chunk_id, u.embedding::vector
           FROM unnest($1::int[], $2::bigint[], $3::text[]) AS u(set_id, chunk_id, embedding)`,
        [setIds.slice(s, s + slice), ids.slice(s, s + slice), vectors.slice(s, s + slice)],
      );
    }
  }

  /** The new chunks' postings, into each collection's lexical index. */
  private async indexTerms(
    m: EntityManager,
    live: { source: DocumentSource; chunks: IndexedChunk[] }[],
    chunkIds: string[],
    layouts: Map<string, LexicalLayout>,
  ): Promise<void> {
    const byCollection = new Map<string, { id: string; terms: Map<string, number>; length: number }[]>();
    let i = 0;
    for (const { source, chunks } of live) {
      let list = byCollection.get(source.collectionId);
      if (!list) byCollection.set(source.collectionId, (list = []));
      for (const c of chunks) list.push({ id: chunkIds[i++], terms: c.terms, length: c.tokenCount });
    }
    for (const [id, chunks] of byCollection)
      this.segments += await this.lexical.add(m, { id, layout: layouts.get(id)! }, chunks);
  }

  /** Lexical segments this process has written since it last asked (see LexicalMaintenance). */
  private segments = 0;

  takeSegments(): number {
    const n = this.segments;
    this.segments = 0;
    return n;
  }

  /**
   * Key-share locks on collections, in id order: a re-index switch or a move of the lexical index waits
   * for the transaction, and the transaction sees each collection's lexical layout as it commits.
   */
  private async lockCollections(m: EntityManager, ids: string[]): Promise<Map<string, LexicalLayout>> {
    const rows: { id: string; lexical_layout: LexicalLayout }[] = await m.query(
      `SELECT id, lexical_layout FROM collections WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.lexical_layout]));
  }

  /**
   * The vectors the documents' current chunks have in the given sets, by embedding input: a new version
   * reuses them for its unchanged chunks instead of embedding them again.
   */
  async previousVectors(documentIds: string[], setIds: number[]): Promise<Map<number, Map<string, string>>> {
    const out = new Map<number, Map<string, string>>();
    if (documentIds.length === 0 || setIds.length === 0) return out;
    const rows: { set_id: number; title: string | null; text: string; embedding: string }[] =
      // Chunk by chunk through the vectors' primary key (OFFSET 0 keeps the planner from flattening the
      // lateral into a join): in the middle of a bulk load the statistics are stale, and the plain join
      // was planned as a scan of every vector of the set, 210 ms per batch at 50k chunks and growing.
      await this.db.query(
        `SELECT v.set_id, c.title, c.text, v.embedding::text AS embedding
           FROM chunks c
          CROSS JOIN LATERAL (
                SELECT v.set_id, v.embedding FROM chunk_vectors v
                 WHERE v.set_id = ANY($2::int[]) AND v.chunk_id = c.id OFFSET 0) v
          WHERE c.document_id = ANY($1::bigint[])`,
        [documentIds, setIds],
      );
    for (const r of rows) {
      let bySet = out.get(r.set_id);
      if (!bySet) out.set(r.set_id, (bySet = new Map()));
      bySet.set(embeddingInput(r.title, r.text), r.embedding);
    }
    return out;
  }

  /**
   * Deletes the chunks of documents with their postings and vectors; returns what was removed per
   * collection. The vectors go in a second statement: a re-index adding a vector to one of these chunks
   * holds it share-locked, so the chunk delete waits for it to commit, and only a later statement's
   * snapshot sees that vector.
   */
  private async removeChunks(m: EntityManager, documentIds: string[], layouts: Map<string, LexicalLayout>) {
    const gone: { id: string; collection_id: string; terms: string[]; token_count: number }[] = await m.query(
      // Wrapped in a SELECT: TypeORM hands back a DELETE's rows as [rows, count].
      `WITH gone AS (DELETE FROM chunks WHERE document_id = ANY($1::bigint[]) RETURNING id, collection_id, terms, token_count)
       SELECT * FROM gone`,
      [documentIds],
    );
    if (gone.length === 0) return [];
    await this.lexical.remove(
      m,
      gone.map((g) => ({
        collectionId: g.collection_id,
        id: String(g.id),
        terms: g.terms,
        layout: layouts.get(g.collection_id)!,
      })),
    );
    await m.query(
      `DELETE FROM chunk_vectors v
        USING unnest($1::bigint[], $2::uuid[]) AS g(id, collection_id)
        JOIN embedding_sets s ON s.collection_id = g.collection_id
        WHERE v.set_id = s.id AND v.chunk_id = g.id`,
      [gone.map((g) => g.id), gone.map((g) => g.collection_id)],
    );
    const perCollection = new Map<string, { collectionId: string; chunks: number; tokens: number }>();
    for (const g of gone) {
      const agg = perCollection.get(g.collection_id) ?? {
        collectionId: g.collection_id,
        chunks: 0,
        tokens: 0,
      };
      agg.chunks += 1;
      agg.tokens += g.token_count;
      perCollection.set(g.collection_id, agg);
    }
    return [...perCollection.values()];
  }

  private async adjustCounters(
    m: EntityManager,
    perCollection: Map<string, { chunks: number; tokens: number }>,
  ) {
    // Sorted so concurrent transactions lock collections in the same order.
    for (const [id, d] of [...perCollection].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (d.chunks === 0 && d.tokens === 0) continue;
      await m.query(
        `UPDATE collections SET chunk_count = chunk_count + $2, token_count = token_count + $3, updated_at = now() WHERE id = $1`,
        [id, d.chunks, d.tokens],
      );
    }
  }

  /** Fresh planner statistics for the tables ingestion queries, without a vacuum's full pass. */
  /** One table per statement, so that a search waits for one table's ANALYZE at most, not all four. */
  async analyzeIndex(): Promise<void> {
    for (const table of ['documents', 'chunks', 'chunk_vectors', 'lexical_blocks']) {
      await this.db.query(`ANALYZE ${table}`);
    }
  }

  /** VACUUM cannot run in a transaction: each statement goes alone. */
  async vacuumIndex(): Promise<void> {
    await this.db.query('VACUUM (ANALYZE) lexical_blocks');
    await this.db.query('VACUUM (ANALYZE) lexical_segments');
    await this.db.query('VACUUM lexical_changes');
    await this.db.query('VACUUM (ANALYZE) chunks');
    await this.db.query('VACUUM (ANALYZE) chunk_vectors');
  }

  async deleteDocument(collectionName: string, externalId: string): Promise<boolean> {
    return transactionRetryingConflicts(this.db, async (m) => {
      const rows: { id: string; collection_id: string }[] = await m.query(
        `SELECT d.id, d.collection_id FROM documents d JOIN collections c ON c.id = d.collection_id
          WHERE c.name = $1 AND d.external_id = $2 FOR UPDATE OF d`,
        [collectionName, externalId],
      );
      if (rows.length === 0) return false;
      const layouts = await this.lockCollections(m, [rows[0].collection_id]);
      const removed = await this.removeChunks(m, [rows[0].id], layouts);
      await this.adjustCounters(
        m,
        new Map(removed.map((r) => [r.collectionId, { chunks: -r.chunks, tokens: -r.tokens }])),
      );
      await m.query(`DELETE FROM documents WHERE id = $1`, [rows[0].id]);
      return true;
    });
  }
}
