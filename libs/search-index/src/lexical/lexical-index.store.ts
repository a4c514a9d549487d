import { EventLoopTurn } from '#platform';
import {
  BLOCK_SIZE,
  type BlockHeader,
  type Posting,
  encodeBlock,
  PostingRuns,
  postingsOf,
} from './posting-block.js';
import {
  type BlockRow,
  BLOCK_HEAD,
  type Sql,
  cmp,
  concat,
  decodeRow,
  insertBlocks,
  insertSegment,
  LOCK_KEY_SQL,
  rewriteSegment,
  type SegmentRow,
  SEGMENT_HEAD,
  forEachSegmentBlock,
  segmentBlocks,
  type TermBlock,
  termBlocks,
} from './lexical-rows.js';
import { type HeaderCache } from './header-cache.js';
import { SegmentDictionaries, SegmentDictionary } from './segment-dictionaries.js';

export type { Sql } from './lexical-rows.js';

/** A block's header: the fields a block's head and a segment's head share, from `o`, and the rest given. */
function readHead(
  h: Buffer,
  o: number,
  term: string,
  version: number,
  segment?: StoredHeader['segment'],
): StoredHeader {
  return {
    term,
    firstChunk: readId(h, o),
    lastChunk: readId(h, o + 8),
    postings: h.readInt32BE(o + 16),
    maxTf: h.readInt32BE(o + 20),
    minLen: h.readInt32BE(o + 24),
    version,
    ...(segment && { segment }),
  };
}

/**
 * A non-negative int8 below 2^53 (a chunk id, a row version), as PostgreSQL's int8send wrote it: without
 * a BigInt, thousands of which a search's headers made.
 */
function readId(h: Buffer, o: number): number {
  return h.readUInt32BE(o) * 0x1_0000_0000 + h.readUInt32BE(o + 4);
}

/** Blocks whose headers a search read were rewritten (merged, or a chunk deleted) before their postings. */
export class IndexChangedError extends Error {
  constructor(readonly changed: number) {
    super(`${changed} posting blocks changed after their headers were read`);
  }
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

/**
 * A block's header as a query reads it, and where the block is: a merged block by its key (term, last
 * chunk), or a slice of a segment's bytes.
 */
export interface StoredHeader extends BlockHeader {
  term: string;
  segment?: { id: string; offset: number; length: number };
  /**
   * Its row's version (a block's `version`, from a sequence, read from the primary key's index with the
   * rest of the header; a segment's xmin): a block or segment rewritten in place gets another.
   */
  version: number;
}

/**
 * Postings a merge round takes at most (from whole segments), so one transaction stays short and its
 * postings (16 bytes each decoded) stay a few tens of MiB: a SciFact load of 10k chunks is one round.
 */
const MERGE_ROUND_POSTINGS = 1_000_000;
/**
 * The lexical index in PostgreSQL (or PGlite: only core types and functions are used).
 *
 * - `lexical_blocks`: each term's postings in full blocks of BLOCK_SIZE (the last may be short), keyed by
 *   (collection, term, last chunk id); blocks of a term never overlap, so the one holding a chunk is the
 *   first whose last chunk is at or after it.
 * - `lexical_segments`: what each indexing transaction adds, one row for all its postings (the batch's
 *   terms, a head per block and the blocks' bytes), so concurrent batches never wait on a common term's
 *   row, and a batch writes one row instead of one per term: at 10k chunks that was 300k rows written
 *   to be merged away, ten times the index they made.
 * - A merge turns a collection's segments into blocks, rewriting only the last block of each term they
 *   touch (or the blocks they overlap). A query reads blocks and segments alike.
 * - A deleted chunk's postings leave their block or segment in the deleting transaction (a block keeps its
 *   id range, which is its key), so no reader ever sees a deleted chunk and document frequencies are exact.
 * - A merge takes a collection's advisory lock exclusively, a delete shares it: a delete never looks for a
 *   posting in a segment or block that a merge is replacing.
 */
export class LexicalIndexStore {
  /** Adds the postings of new chunks of one collection as one segment. */
  async add(m: Sql, collectionId: string, chunks: readonly ChunkTerms[]): Promise<void> {
    const sorted = [...chunks].sort((a, b) => Number(a.id) - Number(b.id));
    const runs = new PostingRuns();
    for (const chunk of sorted) for (const term of chunk.terms.keys()) runs.count(term, Number(chunk.id), 1);
    runs.allocate();
    for (const chunk of sorted) {
      const chunkId = Number(chunk.id);
      for (const [term, tf] of chunk.terms) runs.push(term, chunkId, tf, chunk.length);
    }
    const blocks: TermBlock[] = [];
    for (const term of runs.terms().sort(cmp))
      for (const block of runs.encode(term)) blocks.push({ ...block, term });
    await insertSegment(m, collectionId, blocks);
  }

  /** Removes the postings of chunks that leave the index, in the caller's transaction. */
  async remove(m: Sql, chunks: readonly RemovedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const byCollection = new Map<string, RemovedChunk[]>();
    for (const c of chunks) {
      if (!byCollection.has(c.collectionId)) byCollection.set(c.collectionId, []);
      byCollection.get(c.collectionId)!.push(c);
    }
    for (const [collectionId, removed] of [...byCollection].sort(([a], [b]) => cmp(a, b))) {
      await m.query(`SELECT pg_advisory_xact_lock_shared(${LOCK_KEY_SQL})`, [collectionId]);
      const gone = new Set(removed.map((c) => Number(c.id)));
      await this.removeFromSegments(m, collectionId, gone);
      await this.removeFromBlocks(m, collectionId, removed, gone);
    }
  }

  /** Rewrites the segments holding any of the chunks, without them, each in place (see rewriteSegment). */
  private async removeFromSegments(m: Sql, collectionId: string, gone: ReadonlySet<number>) {
    const ids = [...gone];
    const segments: SegmentRow[] = await m.query(
      `SELECT id, terms, heads, data FROM lexical_segments
        WHERE collection_id = $1 AND first_chunk <= $2 AND last_chunk >= $3
          AND EXISTS (SELECT 1 FROM unnest($4::bigint[]) g(id) WHERE g.id BETWEEN first_chunk AND last_chunk)
        ORDER BY id FOR UPDATE`,
      [collectionId, ids.reduce((a, b) => Math.max(a, b)), ids.reduce((a, b) => Math.min(a, b)), ids],
    );
    for (const segment of segments) {
      const byTerm = new Map<string, Posting[]>();
      let removed = false;
      for (const block of segmentBlocks(segment)) {
        const postings = postingsOf([block.decoded]);
        const kept = postings.filter((p) => !gone.has(p.chunkId));
        removed ||= kept.length < postings.length;
        if (kept.length === 0) continue;
        if (!byTerm.has(block.term)) byTerm.set(block.term, []);
        byTerm.get(block.term)!.push(...kept);
      }
      if (removed) await rewriteSegment(m, collectionId, segment.id, termBlocks(byTerm));
    }
  }

  /** Rewrites the merged blocks holding any of the chunks' postings, without them. */
  private async removeFromBlocks(
    m: Sql,
    collectionId: string,
    removed: readonly RemovedChunk[],
    gone: ReadonlySet<number>,
  ) {
    const terms: string[] = [];
    const chunkIds: string[] = [];
    for (const c of removed)
      for (const term of c.terms) {
        terms.push(term);
        chunkIds.push(c.id);
      }
    // The block that may hold each posting: the first of its term whose range reaches the chunk. Locked in
    // key order, then read again as the lock found it.
    const keys: { term: string; last_chunk: string }[] = await m.query(
      `SELECT DISTINCT b.term, b.last_chunk
         FROM unnest($2::text[], $3::bigint[]) AS r(term, chunk_id)
        CROSS JOIN LATERAL (
              SELECT b.term, b.last_chunk, b.first_chunk FROM lexical_blocks b
               WHERE b.collection_id = $1 AND b.term = r.term AND b.last_chunk >= r.chunk_id
               ORDER BY b.last_chunk LIMIT 1) b
        WHERE b.first_chunk <= r.chunk_id`,
      [collectionId, terms, chunkIds],
    );
    if (keys.length === 0) return;
    keys.sort((a, b) => cmp(a.term, b.term) || Number(a.last_chunk) - Number(b.last_chunk));
    const rows: BlockRow[] = await m.query(
      `SELECT b.term, b.last_chunk, b.first_chunk, b.postings, b.data
         FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS k(term, last_chunk, i)
         JOIN lexical_blocks b ON b.collection_id = $1 AND b.term = k.term AND b.last_chunk = k.last_chunk
        ORDER BY k.i
          FOR UPDATE OF b`,
      [collectionId, keys.map((k) => k.term), keys.map((k) => k.last_chunk)],
    );
    const updated: (TermBlock & { key: string })[] = [];
    const emptied: BlockRow[] = [];
    for (const row of rows) {
      const postings = postingsOf([decodeRow(row)]);
      const kept = postings.filter((p) => !gone.has(p.chunkId));
      if (kept.length === postings.length) continue;
      if (kept.length === 0) emptied.push(row);
      else
        updated.push({
          ...encodeBlock(kept, Number(row.first_chunk)),
          term: row.term,
          key: String(row.last_chunk),
        });
    }
    if (updated.length > 0) {
      const { data, offsets, lengths } = concat(updated);
      await m.query(
        `UPDATE lexical_blocks b
            SET postings = u.postings, max_tf = u.max_tf, min_len = u.min_len,
                version = nextval('lexical_block_versions'),
                data = substring($7::bytea FROM u.off + 1 FOR u.len)
           FROM unnest($2::text[], $3::bigint[], $4::int[], $5::int[], $6::int[], $8::int[], $9::int[])
             AS u(term, last_chunk, postings, max_tf, min_len, off, len)
          WHERE b.collection_id = $1 AND b.term = u.term AND b.last_chunk = u.last_chunk`,
        [
          collectionId,
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
        `DELETE FROM lexical_blocks b USING unnest($2::text[], $3::bigint[]) AS u(term, last_chunk)
          WHERE b.collection_id = $1 AND b.term = u.term AND b.last_chunk = u.last_chunk`,
        [collectionId, emptied.map((e) => e.term), emptied.map((e) => e.last_chunk)],
      );
  }

  /** Drops every block and segment of a collection (the collection is going away). */
  async drop(m: Sql, collectionId: string): Promise<void> {
    await m.query(`DELETE FROM lexical_segments WHERE collection_id = $1`, [collectionId]);
    await m.query(`DELETE FROM lexical_blocks WHERE collection_id = $1`, [collectionId]);
    await m.query(`DELETE FROM lexical_changes WHERE collection_id = $1`, [collectionId]);
  }

  /** Collections with segments waiting to be merged, and how many. */
  async segments(m: Sql): Promise<Map<string, number>> {
    const rows: { collection_id: string; n: string }[] = await m.query(
      `SELECT collection_id, count(*) AS n FROM lexical_segments GROUP BY collection_id`,
    );
    return new Map(rows.map((r) => [r.collection_id, Number(r.n)]));
  }

  /**
   * One merge round of a collection, in the caller's transaction: segments up to `roundPostings`,
   * with the blocks of their terms that they overlap or that are not full yet, become full blocks.
   * Returns the segments merged (0 when there were none, or another process is merging) and the rows it
   * replaced: the dead rows it left for VACUUM.
   */
  async mergeRound(
    m: Sql,
    collectionId: string,
    roundPostings = MERGE_ROUND_POSTINGS,
  ): Promise<{ merged: number; replaced: number }> {
    const [{ locked }] = await m.query(`SELECT pg_try_advisory_xact_lock(${LOCK_KEY_SQL}) AS locked`, [
      collectionId,
    ]);
    if (!locked) return { merged: 0, replaced: 0 };
    // Segments in id order up to roundPostings (at least one).
    const segments: SegmentRow[] = await m.query(
      `SELECT id, terms, heads, data FROM (
         SELECT id, terms, heads, data, postings, sum(postings) OVER (ORDER BY id) AS running
           FROM lexical_segments WHERE collection_id = $1) s
        WHERE running - postings < $2 ORDER BY id`,
      [collectionId, roundPostings],
    );
    if (segments.length === 0) return { merged: 0, replaced: 0 };
    // A round decodes and re-encodes up to a million postings: seconds of the thread's time on a loaded
    // machine, given away in turns so that the replica's heartbeats and requests go on meanwhile.
    const turn = new EventLoopTurn();
    const runs = new PostingRuns();
    for (const segment of segments)
      forEachSegmentBlock(segment, (term, first, n) => runs.count(term, first, n));
    const terms = runs.terms();
    const lowest = terms.map((t) => runs.lowest(t));
    // The blocks the new postings fall into or after, and the one before them if it has room.
    const blocks: BlockRow[] = await m.query(
      `SELECT b.term, b.last_chunk, b.first_chunk, b.postings, b.data
         FROM unnest($2::text[], $3::bigint[]) AS f(term, lowest)
        CROSS JOIN LATERAL (
              SELECT * FROM lexical_blocks b
               WHERE b.collection_id = $1 AND b.term = f.term AND b.last_chunk >= f.lowest
              UNION ALL
              (SELECT * FROM lexical_blocks b
                WHERE b.collection_id = $1 AND b.term = f.term AND b.last_chunk < f.lowest
                  AND b.postings < ${BLOCK_SIZE}
                ORDER BY b.last_chunk DESC LIMIT 1)) b
        ORDER BY b.term, b.last_chunk`,
      [collectionId, terms, lowest],
    );
    for (const row of blocks) runs.count(row.term, Number(row.first_chunk), row.postings);
    runs.allocate();
    // Existing blocks first: they come before the new postings (but for the few they overlap).
    for (const row of blocks) runs.decode(row.term, row.data, Number(row.first_chunk), row.postings);
    for (const segment of segments) {
      if (turn.over()) await turn.pass();
      forEachSegmentBlock(segment, (term, first, n, offset, length) =>
        runs.decode(term, segment.data.subarray(offset, offset + length), first, n),
      );
    }
    await m.query(
      `DELETE FROM lexical_blocks b USING unnest($2::text[], $3::bigint[]) AS u(term, last_chunk)
        WHERE b.collection_id = $1 AND b.term = u.term AND b.last_chunk = u.last_chunk`,
      [collectionId, blocks.map((o) => o.term), blocks.map((o) => o.last_chunk)],
    );
    await m.query(`DELETE FROM lexical_segments WHERE collection_id = $1 AND id = ANY($2::bigint[])`, [
      collectionId,
      segments.map((s) => s.id),
    ]);
    const merged: TermBlock[] = [];
    for (const term of terms.sort(cmp)) {
      if (turn.over()) await turn.pass();
      for (const block of runs.encode(term)) merged.push({ ...block, term });
    }
    await insertBlocks(m, collectionId, merged);
    // The rows saying which blocks changed (see the lexical_changes migration): one newer than all, and
    // none older. No other writer of this collection's blocks is in flight: they share the lock.
    await m.query(
      `WITH newest AS (INSERT INTO lexical_changes (collection_id) VALUES ($1) RETURNING version)
       DELETE FROM lexical_changes WHERE collection_id = $1 AND version < (SELECT version FROM newest)`,
      [collectionId],
    );
    return { merged: segments.length, replaced: segments.length + blocks.length };
  }

  /**
   * The headers of every block of the given terms, in blocks and in segments, as of one statement: the
   * blocks' headers, which segments there are (in which row version) and the collection's change key
   * (see HeaderCache). PostgreSQL packs a term's headers into one bytea: a frequent term of a large
   * collection has thousands of blocks, and parsing them as rows would cost more than the search. Each
   * term's from its own index-only scan, in no set order (the top-k sorts them): one scan over all the
   * terms, grouped and each group sorted, took twice as long at 1M chunks.
   *
   * A term's merged blocks' headers kept in `cache` under the collection's last key are not read again;
   * if the key read is another (a statement wrote the collection's blocks since), every term's are read
   * again, in one statement, so that all come from one state. Segments' blocks are found in their
   * dictionaries, read once per segment version (see SegmentDictionaries); one rewritten or merged before
   * its dictionary was read makes this throw IndexChangedError, as a block read does.
   */
  async headers(
    m: Sql,
    collectionId: string,
    terms: readonly string[],
    dictionaries: SegmentDictionaries,
    cache: HeaderCache<StoredHeader>,
  ): Promise<Map<string, readonly StoredHeader[]>> {
    const known = cache.keyOf(collectionId);
    const kept = new Map<string, readonly StoredHeader[]>();
    if (known !== undefined)
      for (const term of terms) {
        const headers = cache.get(collectionId, known, term);
        if (headers) kept.set(term, headers);
      }
    let read = await this.readHeaders(
      m,
      collectionId,
      terms.filter((t) => !kept.has(t)),
    );
    if (read.key !== known && kept.size > 0) {
      kept.clear();
      read = await this.readHeaders(m, collectionId, terms);
    }
    for (const [term, headers] of read.blocks) {
      cache.set(collectionId, read.key, term, headers);
      kept.set(term, headers);
    }
    const inSegments = new Map<string, StoredHeader[]>();
    const add = (header: StoredHeader) => {
      const list = inSegments.get(header.term);
      if (list) list.push(header);
      else inSegments.set(header.term, [header]);
    };
    const segments = read.segments;
    const live: { id: string; version: number; key: string }[] = [];
    for (let o = 0; segments && o < segments.byteLength; o += 16) {
      const id = String(readId(segments, o));
      const version = readId(segments, o + 8);
      live.push({ id, version, key: `${id}:${version}` });
    }
    dictionaries.retain(collectionId, new Set(live.map((s) => s.key)));
    // This search's dictionaries, whether or not the cache can keep them all.
    const found = new Map(live.map((s) => [s.key, dictionaries.get(collectionId, s.key)]));
    const missing = live.filter((s) => !found.get(s.key));
    if (missing.length > 0) {
      const read: { id: string; version: string; terms: string; heads: Buffer }[] = await m.query(
        `SELECT id, xmin::text::bigint AS version, array_to_string(terms, E'\\n') AS terms, heads
           FROM lexical_segments WHERE collection_id = $1 AND id = ANY($2::bigint[])`,
        [collectionId, missing.map((s) => s.id)],
      );
      let current = 0;
      for (const r of read) {
        const key = `${r.id}:${Number(r.version)}`;
        if (!found.has(key)) continue;
        const dictionary = new SegmentDictionary(r.terms, r.heads);
        found.set(key, dictionary);
        dictionaries.set(collectionId, key, dictionary);
        current++;
      }
      if (current < missing.length) throw new IndexChangedError(missing.length - current);
    }
    for (const segment of live) {
      const dictionary = found.get(segment.key)!;
      for (const term of terms) {
        const [first, end] = dictionary.blocksOf(term);
        for (let i = first; i < end; i++) {
          const o = i * SEGMENT_HEAD;
          add(
            readHead(dictionary.heads, o, term, segment.version, {
              id: segment.id,
              offset: dictionary.heads.readInt32BE(o + 28),
              length: dictionary.heads.readInt32BE(o + 32),
            }),
          );
        }
      }
    }
    const out = new Map<string, readonly StoredHeader[]>();
    for (const term of terms) {
      const blocks = kept.get(term) ?? [];
      const more = inSegments.get(term);
      out.set(term, more ? [...blocks, ...more] : blocks);
    }
    return out;
  }

  /** The statement of `headers`: the merged blocks' headers of `terms`, the segments and the change key. */
  private async readHeaders(
    m: Sql,
    collectionId: string,
    terms: readonly string[],
  ): Promise<{ blocks: Map<string, StoredHeader[]>; segments: Buffer | null; key: string }> {
    const rows: { part: number; term: string | null; h: Buffer | null }[] = await m.query(
      `SELECT 0 AS part, t.term,
              (SELECT string_agg(int8send(first_chunk) || int8send(last_chunk) || int4send(postings)
                                 || int4send(max_tf) || int4send(min_len) || int8send(version), ''::bytea)
                 FROM lexical_blocks WHERE collection_id = $1 AND term = t.term) AS h
         FROM unnest($2::text[]) AS t(term)
       UNION ALL
       SELECT 1, NULL, string_agg(int8send(id) || int8send(xmin::text::bigint), ''::bytea ORDER BY id)
         FROM lexical_segments WHERE collection_id = $1
       UNION ALL
       SELECT 2, NULL, int8send(count(*)) || int8send(coalesce(max(version), 0))
         FROM lexical_changes WHERE collection_id = $1`,
      [collectionId, terms],
    );
    const blocks = new Map<string, StoredHeader[]>();
    let segments: Buffer | null = null;
    let key = '';
    for (const { part, term, h } of rows) {
      if (part === 1) segments = h;
      else if (part === 2) key = `${readId(h!, 0)}:${readId(h!, 8)}`;
      else {
        const list: StoredHeader[] = [];
        for (let o = 0; h && o + BLOCK_HEAD <= h.byteLength; o += BLOCK_HEAD)
          list.push(readHead(h, o, term!, readId(h, o + 28)));
        blocks.set(term!, list);
      }
    }
    return { blocks, segments, key };
  }

  /**
   * The encoded postings of the given blocks, in the order given, in one round trip; each block only in
   * the row version its header names, so a block a merge or a delete has rewritten since its header was
   * read is not returned: IndexChangedError, and the caller reads the headers again.
   */
  async read(m: Sql, collectionId: string, blocks: readonly StoredHeader[]): Promise<Uint8Array[]> {
    if (blocks.length === 0) return [];
    const merged = blocks.flatMap((b, i) => (b.segment ? [] : [{ b, i }]));
    const sliced = blocks.flatMap((b, i) => (b.segment ? [{ s: b.segment, i }] : []));
    const [row]: { data: Buffer | null; lengths: number[] | null }[] = await m.query(
      `SELECT string_agg(x.data, ''::bytea ORDER BY x.i) AS data, array_agg(length(x.data) ORDER BY x.i) AS lengths
         FROM (SELECT k.i, b.data
                 FROM unnest($2::text[], $3::bigint[], $4::int[], $9::bigint[]) AS k(term, last_chunk, i, version)
                 JOIN lexical_blocks b ON b.collection_id = $1 AND b.term = k.term AND b.last_chunk = k.last_chunk
                  AND b.version = k.version
               UNION ALL
               SELECT k.i, substring(s.data FROM k.off + 1 FOR k.len)
                 FROM unnest($5::bigint[], $6::int[], $7::int[], $8::int[], $10::bigint[]) AS k(segment, off, len, i, version)
                 JOIN lexical_segments s ON s.collection_id = $1 AND s.id = k.segment
                  AND s.xmin = k.version::text::xid) x`,
      [
        collectionId,
        merged.map((x) => x.b.term),
        merged.map((x) => x.b.lastChunk),
        merged.map((x) => x.i),
        sliced.map((x) => x.s.id),
        sliced.map((x) => x.s.offset),
        sliced.map((x) => x.s.length),
        sliced.map((x) => x.i),
        merged.map((x) => x.b.version),
        sliced.map((x) => blocks[x.i].version),
      ],
    );
    const lengths = row?.lengths ?? [];
    if (lengths.length !== blocks.length) throw new IndexChangedError(blocks.length - lengths.length);
    // Views of the statement's bytes: the block cache copies what it keeps.
    const data = new Uint8Array(row.data!.buffer, row.data!.byteOffset, row.data!.byteLength);
    let offset = 0;
    return lengths.map((length) => data.subarray(offset, (offset += length)));
  }

  /**
   * Every posting of a collection, decoded, by term; and the terms whose blocks overlap (which must never
   * happen). For checks and tests: it reads the whole index.
   */
  async dump(
    m: Sql,
    collectionId: string,
  ): Promise<{ postings: Map<string, Posting[]>; overlapping: string[] }> {
    const postings = new Map<string, Posting[]>();
    const add = (term: string, list: Posting[]) => {
      if (!postings.has(term)) postings.set(term, []);
      postings.get(term)!.push(...list);
    };
    const rows: BlockRow[] = await m.query(
      `SELECT term, last_chunk, first_chunk, postings, data FROM lexical_blocks
        WHERE collection_id = $1 ORDER BY term, last_chunk`,
      [collectionId],
    );
    const overlapping = new Set<string>();
    let previous: { term: string; last: number } | undefined;
    for (const row of rows) {
      add(row.term, postingsOf([decodeRow(row)]));
      if (previous?.term === row.term && Number(row.first_chunk) <= previous.last) overlapping.add(row.term);
      previous = { term: row.term, last: Number(row.last_chunk) };
    }
    const segments: SegmentRow[] = await m.query(
      `SELECT id, terms, heads, data FROM lexical_segments WHERE collection_id = $1`,
      [collectionId],
    );
    for (const segment of segments)
      for (const block of segmentBlocks(segment)) add(block.term, postingsOf([block.decoded]));
    for (const list of postings.values()) list.sort((a, b) => a.chunkId - b.chunkId);
    return { postings, overlapping: [...overlapping] };
  }
}
