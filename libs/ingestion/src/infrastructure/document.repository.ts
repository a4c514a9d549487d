import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  AppError,
  type CollectionView,
  type DocumentStage,
  type DocumentStatus,
  type DocumentView,
  type Metadata,
} from '#contracts';
import type { EmbedderRegistry } from '#platform';
import { LexicalIndex, type LexicalLayout } from '#search-index';
import { embeddingInput } from '../domain/embedding-input.js';
import { EmbeddingSetRepository, type EmbeddingSet } from './embedding-set.repository.js';

export const COLLECTION_NOT_FOUND = 'INGESTION.COLLECTION_NOT_FOUND';
export const DOCUMENT_NOT_FOUND = 'INGESTION.DOCUMENT_NOT_FOUND';
export const EMBEDDER_MISMATCH = 'INGESTION.EMBEDDER_MISMATCH';
export const NOT_FAILED = 'INGESTION.NOT_FAILED';
export const JOB_NOT_FOUND = 'INGESTION.JOB_NOT_FOUND';

export interface CollectionRow {
  id: string;
  name: string;
  embeddingModel: string;
  dimensions: number;
  analyzer: string;
}

/** What a document version holds: its identity in the collection, its description and its source. */
interface DocumentContent {
  externalId: string;
  title: string | null;
  metadata: Metadata;
  sourceKind: string;
  sourceText: string | null;
  sourceBytes: Buffer | null;
}

export interface NewDocumentVersion extends DocumentContent {
  contentHash: string;
}

/** A document version waiting to be indexed: what a job carries. */
export interface DocumentJob {
  documentId: string;
  version: number;
  /**
   * Drawn anew each time the version is queued (see the queue-jobs migration): the BullMQ job id carries
   * it, and a job whose token is no longer the document's is a no-op. Absent in the in-process queue.
   */
  token?: string;
}

export interface DocumentSource extends DocumentJob, DocumentContent {
  collectionId: string;
  collection: string;
}

export interface IndexedChunk {
  position: number;
  text: string;
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

/** Where a document stands, with the collection it belongs to (what a job's state is read from). */
export interface DocumentState {
  collection: string;
  externalId: string;
  version: number;
  status: DocumentStatus;
  stage: DocumentStage | null;
  progress: number;
  error: string | null;
  updatedAt: string;
}

export function jobId(job: DocumentJob): string {
  return `${job.documentId}:${job.version}`;
}

/** The inverse of `jobId`, for ids already checked against the `JobId` schema. */
export function parseJobId(id: string): DocumentJob {
  const colon = id.indexOf(':');
  return { documentId: id.slice(0, colon), version: Number(id.slice(colon + 1)) };
}

/**
 * A collection is filled with its own model's vectors until a re-index moves it to another: this process
 * must be able to make them (the hashing embedder always can; another model of the configured provider
 * is reached at the same endpoint).
 */
export function assertEmbeddable(collection: CollectionRow, embedders: EmbedderRegistry): void {
  if (!embedders.get(collection.embeddingModel, collection.dimensions)) {
    throw new AppError(
      EMBEDDER_MISMATCH,
      `collection "${collection.name}" holds ${collection.embeddingModel} vectors of ${collection.dimensions} dimensions, ` +
        `which this server cannot make (its embedder is ${embedders.configured.model}); ` +
        `re-index it with POST /rag/collections/${collection.name}/reindex`,
      409,
    );
  }
}

/**
 * The write side: collections, document versions and their chunks. Replacing a document's chunks and
 * postings happens in one transaction that holds the document's row lock, so readers see the old set
 * or the new one, never a mix, and a superseded or deleted version never lands.
 */
@Injectable()
export class DocumentRepository {
  constructor(
    private readonly db: DataSource,
    private readonly sets: EmbeddingSetRepository,
    private readonly lexical: LexicalIndex,
  ) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  async findCollection(name: string, m: EntityManager = this.db.manager): Promise<CollectionRow | null> {
    const rows = await m.query(
      `SELECT id, name, embedding_model, dimensions, analyzer FROM collections WHERE name = $1`,
      [name],
    );
    return rows.length === 0 ? null : toCollection(rows[0]);
  }

  async requireCollection(name: string): Promise<CollectionRow> {
    const c = await this.findCollection(name);
    if (!c) throw AppError.notFound(COLLECTION_NOT_FOUND, `collection "${name}" does not exist`);
    return c;
  }

  /**
   * Creates the collection on first use, bound to the configured embedder (its first, active embedding
   * set) and analyzer; an existing collection keeps its model.
   */
  async ensureCollection(
    m: EntityManager,
    name: string,
    embedders: EmbedderRegistry,
    analyzer: string,
  ): Promise<CollectionRow> {
    const { model, dimensions } = embedders.configured;
    const created: { id: string }[] = await m.query(
      `INSERT INTO collections (name, embedding_model, dimensions, analyzer) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING RETURNING id`,
      [name, model, dimensions, analyzer],
    );
    if (created.length > 0) await this.sets.createActive(m, created[0].id, model, dimensions);
    const collection = (await this.findCollection(name, m))!;
    assertEmbeddable(collection, embedders);
    return collection;
  }

  /**
   * Upserts document versions in one statement. A document whose content hash is unchanged (and did not
   * fail) is left as it is; any other becomes a new queued version. Returns the new versions by external id.
   */
  async upsertVersions(
    m: EntityManager,
    collectionId: string,
    docs: NewDocumentVersion[],
  ): Promise<Map<string, DocumentJob>> {
    const rows: { external_id: string; id: string; version: number; queue_token: string }[] = await m.query(
      `INSERT INTO documents (collection_id, external_id, title, metadata, source_kind, source_text, source_bytes, content_hash, status)
       SELECT $1, u.external_id, u.title, u.metadata::jsonb, u.source_kind, u.source_text, u.source_bytes, u.content_hash, 'queued'
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::text[])
           AS u(external_id, title, metadata, source_kind, source_text, source_bytes, content_hash)
       ON CONFLICT (collection_id, external_id) DO UPDATE
          SET title = excluded.title, metadata = excluded.metadata, source_kind = excluded.source_kind,
              source_text = excluded.source_text, source_bytes = excluded.source_bytes,
              content_hash = excluded.content_hash, status = 'queued', version = documents.version + 1,
              stage = NULL, progress = 0, error = NULL, updated_at = now(), queue_token = DEFAULT
        WHERE documents.content_hash <> excluded.content_hash OR documents.status = 'failed'
       RETURNING external_id, id, version, queue_token`,
      [
        collectionId,
        docs.map((d) => d.externalId),
        docs.map((d) => d.title),
        docs.map((d) => JSON.stringify(d.metadata)),
        docs.map((d) => d.sourceKind),
        docs.map((d) => d.sourceText),
        docs.map((d) => d.sourceBytes),
        docs.map((d) => d.contentHash),
      ],
    );
    return new Map(
      rows.map((r) => [
        r.external_id,
        { documentId: String(r.id), version: r.version, token: r.queue_token },
      ]),
    );
  }

  /** Document versions still waiting or interrupted (queued or processing), oldest first. */
  async pendingJobs(limit: number, untouchedForMs = 0): Promise<DocumentJob[]> {
    const rows = await this.db.query(
      `SELECT id, version FROM documents
        WHERE status IN ('queued', 'processing') AND updated_at <= now() - make_interval(secs => $2::float8 / 1000)
        ORDER BY updated_at, id LIMIT $1`,
      [limit, untouchedForMs],
    );
    return rows.map((r: { id: string; version: number }) => ({
      documentId: String(r.id),
      version: r.version,
    }));
  }

  /** Whether any document, in any collection, waits to be indexed or is being indexed. */
  async hasPendingDocuments(): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM document_status_deltas WHERE status IN ('queued', 'processing')
        GROUP BY collection_id, status HAVING sum(documents) > 0 LIMIT 1`,
    );
    return rows.length > 0;
  }

  /**
   * Folds each collection's status deltas into one row per status (see the document-status-counts
   * migration). Rows appended meanwhile by other transactions are not in this statement's snapshot, so
   * they are neither deleted nor summed: the totals stay exact.
   */
  async compactStatusCounts(): Promise<void> {
    await this.db.query(
      `WITH gone AS (DELETE FROM document_status_deltas RETURNING collection_id, status, documents)
       INSERT INTO document_status_deltas
       SELECT collection_id, status, sum(documents) FROM gone GROUP BY 1, 2 HAVING sum(documents) <> 0`,
    );
  }

  /**
   * Marks the still-current versions as processing and returns their sources. A job whose token is not
   * the document's any more was replaced by the reconciler's fresh one (or came back with an old Redis
   * snapshot): it starts nothing, so the version is worked on by one job at a time.
   */
  async startProcessing(jobs: DocumentJob[]): Promise<DocumentSource[]> {
    const rows = await this.db.query(
      // Wrapped in a SELECT: TypeORM hands back an UPDATE's rows as [rows, count].
      `WITH started AS (
         UPDATE documents d SET status = 'processing', updated_at = now()
           FROM unnest($1::bigint[], $2::int[], $3::text[]) AS j(id, version, token)
          WHERE d.id = j.id AND d.version = j.version AND d.status IN ('queued', 'processing')
            AND (j.token IS NULL OR d.queue_token IS NOT DISTINCT FROM j.token)
         RETURNING d.id, d.version, d.collection_id, d.external_id, d.title, d.metadata, d.source_kind, d.source_text, d.source_bytes)
       SELECT started.*, c.name AS collection FROM started JOIN collections c ON c.id = started.collection_id`,
      [jobs.map((j) => j.documentId), jobs.map((j) => j.version), jobs.map((j) => j.token ?? null)],
    );
    return rows.map((r: Record<string, unknown>) => ({
      documentId: String(r.id),
      version: r.version as number,
      collectionId: r.collection_id as string,
      collection: r.collection as string,
      externalId: r.external_id as string,
      title: r.title as string | null,
      metadata: r.metadata as Metadata,
      sourceKind: r.source_kind as string,
      sourceText: r.source_text as string | null,
      sourceBytes: r.source_bytes as Buffer | null,
    }));
  }

  /** Puts versions that were being processed back in the queue's hands, untouched. */
  async requeue(jobs: DocumentJob[]): Promise<void> {
    await this.db.query(
      `UPDATE documents d SET status = 'queued', stage = NULL, progress = 0, updated_at = now()
         FROM unnest($1::bigint[], $2::int[]) AS j(id, version)
        WHERE d.id = j.id AND d.version = j.version AND d.status = 'processing'`,
      [jobs.map((j) => j.documentId), jobs.map((j) => j.version)],
    );
  }

  async markFailed(job: DocumentJob, error: string): Promise<void> {
    await this.db.query(
      `UPDATE documents SET status = 'failed', error = $3, updated_at = now() WHERE id = $1 AND version = $2`,
      [job.documentId, job.version, error.slice(0, 2000)],
    );
  }

  /**
   * Replaces the chunks of several document versions in one transaction. Versions that were superseded
   * or deleted meanwhile are skipped. Every chunk gets its vector in each set of its collection that it
   * was embedded for; a set that became active since the batch was embedded (a re-index switched) is
   * missing its vectors, so the batch is refused with EmbeddingSetsChangedError, to be embedded again.
   * A building set may miss them: the re-index fills it before it switches. Returns the versions indexed.
   */
  async replaceChunks(batch: { source: DocumentSource; chunks: IndexedChunk[] }[]): Promise<DocumentJob[]> {
    if (batch.length === 0) return [];
    return this.db.transaction(async (m) => {
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
      await m.query(
        `UPDATE documents d SET status = 'indexed', stage = NULL, progress = 100, chunk_count = j.n, error = NULL,
                title = j.title, updated_at = now()
           FROM unnest($1::bigint[], $2::int[], $3::text[]) AS j(id, n, title) WHERE d.id = j.id`,
        [liveIds, live.map((b) => b.chunks.length), live.map((b) => b.source.title)],
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
        metadata.push(meta);
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
  async analyzeIndex(): Promise<void> {
    await this.db.query('ANALYZE documents, chunks, chunk_vectors, lexical_blocks');
  }

  /** VACUUM cannot run in a transaction: each statement goes alone. */
  async vacuumIndex(): Promise<void> {
    await this.db.query('VACUUM (ANALYZE) lexical_blocks');
    await this.db.query('VACUUM (ANALYZE) lexical_segments');
    await this.db.query('VACUUM (ANALYZE) chunks');
    await this.db.query('VACUUM (ANALYZE) chunk_vectors');
  }

  async deleteDocument(collectionName: string, externalId: string): Promise<boolean> {
    return this.db.transaction(async (m) => {
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

  async collectionView(name: string): Promise<CollectionView> {
    const rows = await this.db.query(
      `SELECT c.name, c.embedding_model, c.dimensions, c.chunk_count,
              (SELECT indexed FROM embedding_sets s WHERE s.collection_id = c.id AND s.state = 'active') AS hnsw,
              coalesce(sum(d.documents) FILTER (WHERE d.status = 'queued'), 0) AS queued,
              coalesce(sum(d.documents) FILTER (WHERE d.status = 'processing'), 0) AS processing,
              coalesce(sum(d.documents) FILTER (WHERE d.status = 'indexed'), 0) AS indexed,
              coalesce(sum(d.documents) FILTER (WHERE d.status = 'failed'), 0) AS failed
         FROM collections c LEFT JOIN document_status_deltas d ON d.collection_id = c.id
        WHERE c.name = $1
        GROUP BY c.id`,
      [name],
    );
    if (rows.length === 0)
      throw AppError.notFound(COLLECTION_NOT_FOUND, `collection "${name}" does not exist`);
    const r = rows[0];
    const chunks = Number(r.chunk_count);
    const building = await this.sets.buildingSet(name);
    let reindex: CollectionView['reindex'];
    if (building) {
      const embedded = await this.sets.vectorCount(building.id);
      reindex = {
        model: building.model,
        dimensions: building.dimensions,
        status: building.error ? 'failed' : 'running',
        embedded,
        progress: chunks === 0 ? 100 : Math.min(100, Math.floor((embedded / chunks) * 100)),
        ...(building.error ? { error: building.error } : {}),
      };
    }
    return {
      name: r.name,
      documents: {
        queued: Number(r.queued),
        processing: Number(r.processing),
        indexed: Number(r.indexed),
        failed: Number(r.failed),
      },
      chunks,
      embedding: { model: r.embedding_model, dimensions: r.dimensions, index: r.hnsw ? 'hnsw' : 'exact' },
      ...(reindex ? { reindex } : {}),
    };
  }

  async documentView(collectionName: string, externalId: string): Promise<DocumentView> {
    const collection = await this.requireCollection(collectionName);
    const rows = await this.db.query(
      `SELECT ${DOCUMENT_VIEW_COLUMNS} FROM documents WHERE collection_id = $1 AND external_id = $2`,
      [collection.id, externalId],
    );
    if (rows.length === 0) {
      throw AppError.notFound(
        DOCUMENT_NOT_FOUND,
        `document "${externalId}" does not exist in collection "${collectionName}"`,
      );
    }
    return toDocumentView(rows[0]);
  }

  /**
   * A page of a collection's documents in external-id order, after the given id (keyset paging: each page
   * is one range read of the (collection_id, external_id) index, however deep it is).
   */
  async listDocuments(
    collectionId: string,
    filter: { status?: DocumentStatus; after?: string },
    limit: number,
  ): Promise<DocumentView[]> {
    const params: unknown[] = [collectionId, limit];
    let where = 'collection_id = $1';
    if (filter.status !== undefined) {
      params.push(filter.status);
      where += ` AND status = $${params.length}`;
    }
    if (filter.after !== undefined) {
      params.push(filter.after);
      where += ` AND external_id > $${params.length}`;
    }
    const rows = await this.db.query(
      `SELECT ${DOCUMENT_VIEW_COLUMNS} FROM documents WHERE ${where} ORDER BY external_id LIMIT $2`,
      params,
    );
    return rows.map(toDocumentView);
  }

  /**
   * Makes a failed document a new queued version, its error cleared, in one statement so that two retries
   * cannot both win. Returns the new version, or null when the document is missing or not failed.
   */
  async requeueFailed(collectionId: string, externalId: string): Promise<DocumentJob | null> {
    const rows: { id: string; version: number; queue_token: string }[] = await this.db.query(
      // Wrapped in a SELECT: TypeORM hands back an UPDATE's rows as [rows, count].
      `WITH requeued AS (
         UPDATE documents SET status = 'queued', version = version + 1, stage = NULL, progress = 0, error = NULL,
                updated_at = now(), queue_token = DEFAULT
          WHERE collection_id = $1 AND external_id = $2 AND status = 'failed'
         RETURNING id, version, queue_token)
       SELECT * FROM requeued`,
      [collectionId, externalId],
    );
    return rows.length === 0
      ? null
      : { documentId: String(rows[0].id), version: rows[0].version, token: rows[0].queue_token };
  }

  async documentStatus(collectionId: string, externalId: string): Promise<DocumentStatus | null> {
    const rows: { status: DocumentStatus }[] = await this.db.query(
      `SELECT status FROM documents WHERE collection_id = $1 AND external_id = $2`,
      [collectionId, externalId],
    );
    return rows.length === 0 ? null : rows[0].status;
  }

  /** The document a job belongs to, by its row id, whatever version it is at now. */
  async documentState(documentId: string): Promise<DocumentState | null> {
    const rows = await this.db.query(
      `SELECT c.name, d.external_id, d.version, d.status, d.stage, d.progress, d.error, d.updated_at
         FROM documents d JOIN collections c ON c.id = d.collection_id
        WHERE d.id = $1`,
      [documentId],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      collection: r.name,
      externalId: r.external_id,
      version: r.version,
      status: r.status as DocumentStatus,
      stage: r.stage as DocumentStage | null,
      progress: r.progress,
      error: r.error,
      updatedAt: new Date(r.updated_at).toISOString(),
    };
  }

  /** Current versions of the given external ids that already exist (for `unchanged` answers). */
  async currentVersions(
    collectionId: string,
    externalIds: string[],
    m: EntityManager,
  ): Promise<Map<string, DocumentJob>> {
    const rows: { external_id: string; id: string; version: number }[] = await m.query(
      `SELECT external_id, id, version FROM documents WHERE collection_id = $1 AND external_id = ANY($2::text[])`,
      [collectionId, externalIds],
    );
    return new Map(rows.map((r) => [r.external_id, { documentId: String(r.id), version: r.version }]));
  }

  /**
   * Records the stage the versions being processed have entered, in one statement for the batch.
   * Versions superseded, deleted or no longer processing meanwhile are left alone.
   */
  async recordStage(jobs: DocumentJob[], stage: DocumentStage, progress: number): Promise<void> {
    if (jobs.length === 0) return;
    await this.db.query(
      `UPDATE documents d SET stage = $3, progress = $4, updated_at = now()
         FROM unnest($1::bigint[], $2::int[]) AS j(id, version)
        WHERE d.id = j.id AND d.version = j.version AND d.status = 'processing'`,
      [jobs.map((j) => j.documentId), jobs.map((j) => j.version), stage, progress],
    );
  }
}

const DOCUMENT_VIEW_COLUMNS =
  'external_id, status, stage, progress, title, metadata, chunk_count, content_hash, version, error, updated_at';

function toDocumentView(r: Record<string, unknown>): DocumentView {
  return {
    id: r.external_id as string,
    status: r.status as DocumentStatus,
    ...(r.stage ? { stage: r.stage as DocumentStage } : {}),
    progress: r.progress as number,
    title: r.title as string | null,
    metadata: r.metadata as Metadata,
    chunkCount: r.chunk_count as number,
    contentHash: r.content_hash as string,
    version: r.version as number,
    ...(r.error ? { error: r.error as string } : {}),
    updatedAt: new Date(r.updated_at as string | Date).toISOString(),
  };
}

function toCollection(r: Record<string, unknown>): CollectionRow {
  return {
    id: r.id as string,
    name: r.name as string,
    embeddingModel: r.embedding_model as string,
    dimensions: r.dimensions as number,
    analyzer: r.analyzer as string,
  };
}
