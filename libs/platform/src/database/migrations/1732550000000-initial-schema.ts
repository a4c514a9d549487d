import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Collections, documents (their source and state), chunks with their vectors, and the BM25 postings.
 * The same SQL runs on PostgreSQL 15+ with pgvector and on embedded PGlite.
 *
 * - chunks.embedding is an untyped `vector` so collections may use embedders of different sizes; each
 *   size gets its own partial HNSW cosine index on `embedding::vector(n)` (see vector-index.ts). The
 *   default size's index is created here.
 * - chunk_terms holds one row per (term, chunk) with the term frequency and the chunk length, covered
 *   by its primary key, so a BM25 query is an index-only scan of the query terms' postings. It has no
 *   foreign key (a check per posting would halve bulk-load speed): rows are removed with their chunks,
 *   through the term list kept in chunks.terms.
 */
export class InitialSchema1732550000000 implements MigrationInterface {
  name = 'InitialSchema1732550000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS vector`);
    await q.query(`
      CREATE TABLE collections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        embedding_model text NOT NULL,
        dimensions int NOT NULL,
        analyzer text NOT NULL,
        chunk_count bigint NOT NULL DEFAULT 0,
        token_count bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE documents (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        collection_id uuid NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        external_id text NOT NULL,
        title text,
        metadata jsonb NOT NULL DEFAULT '{}',
        source_kind text NOT NULL,
        source_text text,
        source_bytes bytea,
        content_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'processing', 'indexed', 'failed')),
        version int NOT NULL DEFAULT 1,
        chunk_count int NOT NULL DEFAULT 0,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (collection_id, external_id)
      )`);
    await q.query(`CREATE INDEX documents_collection_status_idx ON documents (collection_id, status)`);
    await q.query(`
      CREATE TABLE chunks (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        collection_id uuid NOT NULL,
        document_id bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        position int NOT NULL,
        title text,
        text text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        token_count int NOT NULL,
        terms text[] NOT NULL,
        dimensions int NOT NULL,
        embedding vector NOT NULL
      )`);
    await q.query(`CREATE INDEX chunks_document_idx ON chunks (document_id)`);
    await q.query(`CREATE INDEX chunks_metadata_idx ON chunks USING gin (metadata jsonb_path_ops)`);
    await q.query(
      `CREATE INDEX chunks_embedding_384_hnsw ON chunks USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dimensions = 384`,
    );
    await q.query(`
      CREATE TABLE chunk_terms (
        collection_id uuid NOT NULL,
        term text NOT NULL,
        chunk_id bigint NOT NULL,
        tf real NOT NULL,
        len int NOT NULL,
        PRIMARY KEY (collection_id, term, chunk_id) INCLUDE (tf, len)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS chunk_terms`);
    await q.query(`DROP TABLE IF EXISTS chunks`);
    await q.query(`DROP TABLE IF EXISTS documents`);
    await q.query(`DROP TABLE IF EXISTS collections`);
  }
}
