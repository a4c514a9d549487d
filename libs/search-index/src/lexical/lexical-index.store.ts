import {
  BLOCK_SIZE,
  type BlockHeader,
  type DecodedBlock,
  type EncodedBlock,
  type Posting,
  decodeBlock,
  encodeBlock,
  encodeBlocks,
} from './posting-block.js';

/** Anything that runs SQL: a DataSource, an EntityManager inside a transaction, a QueryRunner. */
export interface Sql {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/** A chunk as the lexical index sees it: its id, its terms with their frequencies, and its length. */
export interface ChunkTerms {
  id: string;
  terms: ReadonlyMap<string, number>;
  length: number;
}

/** A chunk leaving the index, with the terms it was indexed under (kept in `chunks.terms`). */
export interface RemovedChunk {
  collectionId: string;
  id: string;
  terms: readonly string[];
}

/** A block's header as a query reads it, with its term: (term, lastChunk) is the block's key. */
export interface StoredHeader extends BlockHeader {
  term: string;
}

/** Fresh blocks a merge round takes at most, so that one transaction (and its lock) stays short. */
const MERGE_ROUND_BLOCKS = 20_000;
/** Bytes of one header as `headers` packs it: first and last chunk (8 each), postings, max tf, min length. */
const HEADER_BYTES = 28;

/**
 * The lexical index in PostgreSQL (or PGlite: only core types and functions are used). Each row of
 * `lexical_blocks` is one block of one term's postings, keyed by (collection, term, last chunk id).
 *
 * - Writes never touch existing blocks: each indexing transaction adds *fresh* blocks for its chunks
 *   (`merged` false), so concurrent batches never wait on a common term's row.
 * - A merge rewrites a collection's fresh blocks, with the merged blocks they overlap or extend, into full
 *   blocks of BLOCK_SIZE postings; merged blocks of a term never overlap, so the one holding a chunk is
 *   the first whose last chunk is at or after it.
 * - A deleted chunk's postings leave their blocks in the deleting transaction (the block keeps its id
 *   range, which is its key), so no reader ever sees a deleted chunk and document frequencies are exact.
 * - A merge takes a collection's advisory lock exclusively, a delete shares it: a delete never looks for
 *   a posting in a block a merge is replacing.
 */
export class LexicalIndexStore {
  /** Adds the postings of new chunks of one collection as fresh blocks; returns how many. */
  async add(m: Sql, collectionId: string, chunks: readonly ChunkTerms[]): Promise<number> {
    const byTerm = new Map<string, Posting[]>();
    for (const chunk of [...chunks].sort((a, b) => Number(a.id) - Number(b.id))) {
      const chunkId = Number(chunk.id);
      for (const [term, tf] of chunk.terms) {
        let list = byTerm.get(term);
        if (!list) byTerm.set(term, (list = []));
        list.push({ chunkId, tf, len: chunk.length });
      }
    }
    const blocks: (EncodedBlock & { term: string })[] = [];
    // In key order, so the inserts walk the primary key's pages once.
    for (const term of [...byTerm.keys()].sort())
      for (const block of encodeBlocks(byTerm.get(term)!)) blocks.push({ ...block, term });
    await this.insertBlocks(m, collectionId, blocks, false);
    return blocks.length;
  }

  /** Removes the postings of chunks that leave the index, in the caller's transaction. */
  async remove(m: Sql, chunks: readonly RemovedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const collections = [...new Set(chunks.map((c) => c.collectionId))].sort();
    for (const id of collections) await m.query(`SELECT pg_advisory_xact_lock_shared(${LOCK_KEY_SQL})`, [id]);
    const pairs = { collection: [] as string[], term: [] as string[], chunk: [] as string[] };
    const gone = new Map<string, Set<number>>();
    for (const c of chunks) {
      for (const term of c.terms) {
        pairs.collection.push(c.collectionId);
        pairs.term.push(term);
        pairs.chunk.push(c.id);
        const key = `${c.collectionId}\u0000${term}`;
        if (!gone.has(key)) gone.set(key, new Set());
        gone.get(key)!.add(Number(c.id));
      }
    }
    // The blocks that may hold each posting: the merged block whose range reaches the chunk, and any fresh
    // block whose range holds it. Locked in key order, then read again as the lock found them.
    const keys: { collection_id: string; term: string; last_chunk: string }[] = await m.query(
      `SELECT DISTINCT b.collection_id, b.term, b.last_chunk
         FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS r(collection_id, term, chunk_id)
        CROSS JOIN LATERAL (
              (SELECT b.collection_id, b.term, b.last_chunk, b.first_chunk FROM lexical_blocks b
                WHERE b.collection_id = r.collection_id AND b.term = r.term AND b.merged
                  AND b.last_chunk >= r.chunk_id
                ORDER BY b.last_chunk LIMIT 1)
              UNION ALL
              SELECT b.collection_id, b.term, b.last_chunk, b.first_chunk FROM lexical_blocks b
               WHERE b.collection_id = r.collection_id AND b.term = r.term AND NOT b.merged
                 AND b.last_chunk >= r.chunk_id AND b.first_chunk <= r.chunk_id) b
        WHERE b.first_chunk <= r.chunk_id`,
      [pairs.collection, pairs.term, pairs.chunk],
    );
    if (keys.length === 0) return;
    keys.sort(
      (a, b) =>
        cmp(a.collection_id, b.collection_id) ||
        cmp(a.term, b.term) ||
        Number(a.last_chunk) - Number(b.last_chunk),
    );
    const rows: StoredBlockRow[] = await m.query(
      `SELECT b.collection_id, b.term, b.last_chunk, b.first_chunk, b.postings, b.data
         FROM unnest($1::uuid[], $2::text[], $3::bigint[]) WITH ORDINALITY AS k(collection_id, term, last_chunk, i)
         JOIN lexical_blocks b USING (collection_id, term, last_chunk)
        ORDER BY k.i
          FOR UPDATE OF b`,
      [keys.map((k) => k.collection_id), keys.map((k) => k.term), keys.map((k) => k.last_chunk)],
    );
    const updated: (EncodedBlock & { collectionId: string; term: string; key: string })[] = [];
    const emptied: StoredBlockRow[] = [];
    for (const row of rows) {
      const removed = gone.get(`${row.collection_id}\u0000${row.term}`)!;
      const postings = postingsOfRow(row);
      const kept = postings.filter((p) => !removed.has(p.chunkId));
      if (kept.length === postings.length) continue;
      if (kept.length === 0) emptied.push(row);
      else
        updated.push({
          ...encodeBlock(kept, Number(row.first_chunk)),
          collectionId: row.collection_id,
          term: row.term,
          key: String(row.last_chunk),
        });
    }
    if (updated.length > 0) {
      const { data, offsets, lengths } = concat(updated);
      await m.query(
        `UPDATE lexical_blocks b
            SET postings = u.postings, max_tf = u.max_tf, min_len = u.min_len,
                data = substring($7::bytea FROM u.off + 1 FOR u.len)
           FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::int[], $5::int[], $6::int[], $8::int[], $9::int[])
             AS u(collection_id, term, last_chunk, postings, max_tf, min_len, off, len)
          WHERE b.collection_id = u.collection_id AND b.term = u.term AND b.last_chunk = u.last_chunk`,
        [
          updated.map((u) => u.collectionId),
          updated.map((u) => u.term),
          updated.map((u) => u.key),
          updated.map((u) => u.postings),
          updated.map((u) => u.maxTf),
          updated.map((u) => u.minLen),
          data,
          offsets,
          lengths,
        ],
      );
    }
    if (emptied.length > 0)
      await m.query(
        `DELETE FROM lexical_blocks b USING unnest($1::uuid[], $2::text[], $3::bigint[]) AS u(collection_id, term, last_chunk)
          WHERE b.collection_id = u.collection_id AND b.term = u.term AND b.last_chunk = u.last_chunk`,
        [emptied.map((e) => e.collection_id), emptied.map((e) => e.term), emptied.map((e) => e.last_chunk)],
      );
  }

  /** Drops every block of a collection (the collection is going away). */
  async drop(m: Sql, collectionId: string): Promise<void> {
    await m.query(`DELETE FROM lexical_blocks WHERE collection_id = $1`, [collectionId]);
  }

  /** Collections with fresh blocks waiting to be merged, and how many. */
  async freshBlocks(m: Sql): Promise<Map<string, number>> {
    const rows: { collection_id: string; n: string }[] = await m.query(
      `SELECT collection_id, count(*) AS n FROM lexical_blocks WHERE NOT merged GROUP BY collection_id`,
    );
    return new Map(rows.map((r) => [r.collection_id, Number(r.n)]));
  }

  /**
   * One merge round of a collection, in the caller's transaction: up to MERGE_ROUND_BLOCKS fresh blocks,
   * with the merged blocks of their terms that they overlap or that are not full yet, become full merged
   * blocks. Returns the fresh blocks merged (0 when there were none, or another process is merging)
   * and the rows it replaced, fresh and merged: the dead rows it left for VACUUM.
   */
  async mergeRound(m: Sql, collectionId: string): Promise<{ merged: number; replaced: number }> {
    const [{ locked }] = await m.query(`SELECT pg_try_advisory_xact_lock(${LOCK_KEY_SQL}) AS locked`, [
      collectionId,
    ]);
    if (!locked) return { merged: 0, replaced: 0 };
    const fresh: StoredBlockRow[] = await m.query(
      `SELECT collection_id, term, last_chunk, first_chunk, postings, data FROM lexical_blocks
        WHERE collection_id = $1 AND NOT merged ORDER BY term, last_chunk LIMIT $2`,
      [collectionId, MERGE_ROUND_BLOCKS],
    );
    if (fresh.length === 0) return { merged: 0, replaced: 0 };
    const lowest = new Map<string, number>();
    for (const f of fresh) {
      const first = Number(f.first_chunk);
      if (!lowest.has(f.term) || first < lowest.get(f.term)!) lowest.set(f.term, first);
    }
    // The merged blocks the fresh postings fall into or after, and the one before them if it has room.
    const merged: StoredBlockRow[] = await m.query(
      `SELECT b.collection_id, b.term, b.last_chunk, b.first_chunk, b.postings, b.data
         FROM unnest($2::text[], $3::bigint[]) AS f(term, lowest)
        CROSS JOIN LATERAL (
              SELECT * FROM lexical_blocks b
               WHERE b.collection_id = $1 AND b.term = f.term AND b.merged AND b.last_chunk >= f.lowest
              UNION ALL
              (SELECT * FROM lexical_blocks b
                WHERE b.collection_id = $1 AND b.term = f.term AND b.merged AND b.last_chunk < f.lowest
                  AND b.postings < ${BLOCK_SIZE}
                ORDER BY b.last_chunk DESC LIMIT 1)) b`,
      [collectionId, [...lowest.keys()], [...lowest.values()]],
    );
    const byTerm = new Map<string, StoredBlockRow[]>();
    for (const row of [...fresh, ...merged]) {
      if (!byTerm.has(row.term)) byTerm.set(row.term, []);
      byTerm.get(row.term)!.push(row);
    }
    const blocks: (EncodedBlock & { term: string })[] = [];
    for (const [term, rows] of [...byTerm].sort(([a], [b]) => cmp(a, b))) {
      const postings = rows.flatMap(postingsOfRow).sort((a, b) => a.chunkId - b.chunkId);
      for (const block of encodeBlocks(postings)) blocks.push({ ...block, term });
    }
    const old = [...fresh, ...merged];
    await m.query(
      `DELETE FROM lexical_blocks b USING unnest($2::text[], $3::bigint[]) AS u(term, last_chunk)
        WHERE b.collection_id = $1 AND b.term = u.term AND b.last_chunk = u.last_chunk`,
      [collectionId, old.map((o) => o.term), old.map((o) => o.last_chunk)],
    );
    await this.insertBlocks(m, collectionId, blocks, true);
    return { merged: fresh.length, replaced: old.length };
  }

  /**
   * The headers of every block of the given terms, by term, packed by PostgreSQL into one bytea per term:
   * a frequent term of a large collection has thousands of blocks, and parsing them as rows would cost
   * more than the search.
   */
  async headers(
    m: Sql,
    collectionId: string,
    terms: readonly string[],
  ): Promise<Map<string, StoredHeader[]>> {
    const rows: { term: string; h: Buffer }[] = await m.query(
      `SELECT term, string_agg(int8send(first_chunk) || int8send(last_chunk) || int4send(postings)
                               || int4send(max_tf) || int4send(min_len), ''::bytea ORDER BY last_chunk) AS h
         FROM lexical_blocks WHERE collection_id = $1 AND term = ANY($2::text[])
        GROUP BY term`,
      [collectionId, terms],
    );
    const out = new Map<string, StoredHeader[]>();
    for (const { term, h } of rows) {
      const view = new DataView(h.buffer, h.byteOffset, h.byteLength);
      const list: StoredHeader[] = [];
      for (let o = 0; o + HEADER_BYTES <= h.byteLength; o += HEADER_BYTES)
        list.push({
          term,
          firstChunk: Number(view.getBigInt64(o)),
          lastChunk: Number(view.getBigInt64(o + 8)),
          postings: view.getInt32(o + 16),
          maxTf: view.getInt32(o + 20),
          minLen: view.getInt32(o + 24),
        });
      out.set(term, list);
    }
    return out;
  }

  /** The postings of the given blocks, in the order given, in one round trip. */
  async read(m: Sql, collectionId: string, blocks: readonly StoredHeader[]): Promise<DecodedBlock[]> {
    if (blocks.length === 0) return [];
    const [row]: { data: Buffer | null; lengths: number[] | null }[] = await m.query(
      `SELECT string_agg(b.data, ''::bytea ORDER BY k.i) AS data, array_agg(length(b.data) ORDER BY k.i) AS lengths
         FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS k(term, last_chunk, i)
         JOIN lexical_blocks b ON b.collection_id = $1 AND b.term = k.term AND b.last_chunk = k.last_chunk`,
      [collectionId, blocks.map((b) => b.term), blocks.map((b) => b.lastChunk)],
    );
    const lengths = row?.lengths ?? [];
    if (lengths.length !== blocks.length)
      throw new Error(
        `read ${lengths.length} of ${blocks.length} posting blocks: the index changed under a snapshot`,
      );
    const out: DecodedBlock[] = [];
    let offset = 0;
    blocks.forEach((b, i) => {
      out.push(decodeBlock(row.data!.subarray(offset, offset + lengths[i]), b.firstChunk, b.postings));
      offset += lengths[i];
    });
    return out;
  }

  /**
   * Every posting of a collection, decoded, by term; and whether the merged blocks of each term keep
   * their order (none overlaps another). For checks and tests: it reads the whole index.
   */
  async dump(
    m: Sql,
    collectionId: string,
  ): Promise<{ postings: Map<string, Posting[]>; overlapping: string[] }> {
    const rows: (StoredBlockRow & { merged: boolean })[] = await m.query(
      `SELECT collection_id, term, last_chunk, first_chunk, postings, merged, data FROM lexical_blocks
        WHERE collection_id = $1 ORDER BY term, last_chunk`,
      [collectionId],
    );
    const postings = new Map<string, Posting[]>();
    const overlapping = new Set<string>();
    let previous: { term: string; last: number } | undefined;
    for (const row of rows) {
      if (!postings.has(row.term)) postings.set(row.term, []);
      postings.get(row.term)!.push(...postingsOfRow(row));
      if (!row.merged) continue;
      if (previous?.term === row.term && Number(row.first_chunk) <= previous.last) overlapping.add(row.term);
      previous = { term: row.term, last: Number(row.last_chunk) };
    }
    for (const list of postings.values()) list.sort((a, b) => a.chunkId - b.chunkId);
    return { postings, overlapping: [...overlapping] };
  }

  /** Writes encoded blocks of one collection, fresh or merged. */
  async insertBlocks(
    m: Sql,
    collectionId: string,
    blocks: readonly (EncodedBlock & { term: string })[],
    merged: boolean,
  ): Promise<void> {
    // Slices keep each statement's parameters bounded.
    const slice = 20_000;
    for (let s = 0; s < blocks.length; s += slice) {
      const part = blocks.slice(s, s + slice);
      const { data, offsets, lengths } = concat(part);
      await m.query(
        `INSERT INTO lexical_blocks (collection_id, term, last_chunk, first_chunk, postings, max_tf, min_len, merged, data)
         SELECT $1, u.term, u.last_chunk, u.first_chunk, u.postings, u.max_tf, u.min_len, $8,
                substring($9::bytea FROM u.off + 1 FOR u.len)
           FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::int[], $7::int[], $10::int[], $11::int[])
             AS u(term, last_chunk, first_chunk, postings, max_tf, min_len, off, len)`,
        [
          collectionId,
          part.map((b) => b.term),
          part.map((b) => b.lastChunk),
          part.map((b) => b.firstChunk),
          part.map((b) => b.postings),
          part.map((b) => b.maxTf),
          part.map((b) => b.minLen),
          merged,
          data,
          offsets,
          lengths,
        ],
      );
    }
  }
}

/** The advisory lock of a collection's lexical index, from its id ($1). */
const LOCK_KEY_SQL = `hashtextextended('lexical:' || $1::text, 0)`;

interface StoredBlockRow {
  collection_id: string;
  term: string;
  last_chunk: string;
  first_chunk: string;
  postings: number;
  data: Buffer;
}

function postingsOfRow(row: StoredBlockRow): Posting[] {
  const { ids, tfs, lens } = decodeBlock(row.data, Number(row.first_chunk), row.postings);
  return Array.from(ids, (chunkId, i) => ({ chunkId, tf: tfs[i], len: lens[i] }));
}

/** Blocks' bytes as one buffer, with each block's offset and length in it. */
function concat(blocks: readonly EncodedBlock[]) {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  for (const b of blocks) {
    offsets.push(at);
    lengths.push(b.data.length);
    at += b.data.length;
  }
  return { data: Buffer.concat(blocks.map((b) => b.data)), offsets, lengths };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
