// The rows of the lexical index as they are stored and read back: block rows, segment rows and their
// heads, and the two statements that write them (docs/lexical-index.md).
import {
  type DecodedBlock,
  type EncodedBlock,
  type Posting,
  decodeBlock,
  encodeBlocks,
} from './posting-block.js';

/** Anything that runs SQL: a DataSource, an EntityManager inside a transaction, a QueryRunner. */
export interface Sql {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/**
 * A merged block's header as `headers` packs it: first and last chunk, postings, max tf, min length, and
 * its row version (the `version` column, from a sequence).
 */
export const BLOCK_HEAD = 36;
/** A segment block's head: the same, then its offset and length in the segment's bytes. */
export const SEGMENT_HEAD = 36;

/** One term's blocks of a segment being written. */
export interface TermBlock extends EncodedBlock {
  term: string;
}

/** Writes full blocks of one collection (a merge's, or a move's from the postings layout). */
export async function insertBlocks(
  m: Sql,
  collectionId: string,
  blocks: readonly TermBlock[],
): Promise<void> {
  // Slices keep each statement's parameters bounded.
  const slice = 20_000;
  for (let s = 0; s < blocks.length; s += slice) {
    const part = blocks.slice(s, s + slice);
    const { data, offsets, lengths } = concat(part);
    await m.query(
      `INSERT INTO lexical_blocks (collection_id, term, last_chunk, first_chunk, postings, max_tf, min_len, data)
       SELECT $1, u.term, u.last_chunk, u.first_chunk, u.postings, u.max_tf, u.min_len,
              substring($8::bytea FROM u.off + 1 FOR u.len)
         FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::int[], $7::int[], $9::int[], $10::int[])
           AS u(term, last_chunk, first_chunk, postings, max_tf, min_len, off, len)`,
      [
        collectionId,
        part.map((b) => b.term),
        part.map((b) => b.lastChunk),
        part.map((b) => b.firstChunk),
        part.map((b) => b.postings),
        part.map((b) => b.maxTf),
        part.map((b) => b.minLen),
        data,
        offsets,
        lengths,
      ],
    );
  }
}

/** Writes one segment: its blocks' terms, a head per block, and the blocks' bytes. */
export async function insertSegment(
  m: Sql,
  collectionId: string,
  blocks: readonly TermBlock[],
): Promise<void> {
  if (blocks.length === 0) return;
  await m.query(
    `INSERT INTO lexical_segments (collection_id, first_chunk, last_chunk, postings, terms, heads, data)
     VALUES ($1, $2, $3, $4, $5::text[], $6, $7)`,
    [collectionId, ...segmentValues(blocks)],
  );
}

/**
 * Writes a segment again with fewer postings, in place: a delete waiting on the row's lock then reads
 * the new version (READ COMMITTED re-checks a locked row that was updated, but skips one that was
 * deleted, so a segment written again under another id would keep a concurrent delete's postings).
 */
export async function rewriteSegment(
  m: Sql,
  collectionId: string,
  id: string,
  blocks: readonly TermBlock[],
): Promise<void> {
  if (blocks.length === 0)
    await m.query(`DELETE FROM lexical_segments WHERE collection_id = $1 AND id = $2`, [collectionId, id]);
  else
    await m.query(
      `UPDATE lexical_segments SET first_chunk = $3, last_chunk = $4, postings = $5, terms = $6::text[],
              heads = $7, data = $8
        WHERE collection_id = $1 AND id = $2`,
      [collectionId, id, ...segmentValues(blocks)],
    );
}

/** A segment's columns from its blocks: first and last chunk, postings, terms, heads and bytes. */
function segmentValues(blocks: readonly TermBlock[]): unknown[] {
  const { data, offsets, lengths } = concat(blocks);
  const heads = Buffer.alloc(blocks.length * SEGMENT_HEAD);
  blocks.forEach((b, i) => {
    const o = i * SEGMENT_HEAD;
    heads.writeBigInt64BE(BigInt(b.firstChunk), o);
    heads.writeBigInt64BE(BigInt(b.lastChunk), o + 8);
    heads.writeInt32BE(b.postings, o + 16);
    heads.writeInt32BE(b.maxTf, o + 20);
    heads.writeInt32BE(b.minLen, o + 24);
    heads.writeInt32BE(offsets[i], o + 28);
    heads.writeInt32BE(lengths[i], o + 32);
  });
  return [
    blocks.reduce((low, b) => Math.min(low, b.firstChunk), Infinity),
    blocks.reduce((high, b) => Math.max(high, b.lastChunk), -Infinity),
    blocks.reduce((sum, b) => sum + b.postings, 0),
    blocks.map((b) => b.term),
    heads,
    data,
  ];
}

/** The advisory lock of a collection's lexical index, from its id ($1). */
export const LOCK_KEY_SQL = `hashtextextended('lexical:' || $1::text, 0)`;

export interface BlockRow {
  term: string;
  last_chunk: string;
  first_chunk: string;
  postings: number;
  data: Buffer;
}

export interface SegmentRow {
  id: string;
  terms: string[];
  heads: Buffer;
  data: Buffer;
}

export function decodeRow(row: BlockRow): DecodedBlock {
  return decodeBlock(row.data, Number(row.first_chunk), row.postings);
}

/**
 * Each block of a segment, from its head: its term, first chunk and postings, and where its bytes are in
 * the segment's data.
 */
export function forEachSegmentBlock(
  segment: SegmentRow,
  visit: (term: string, firstChunk: number, postings: number, offset: number, length: number) => void,
): void {
  for (let i = 0; i < segment.terms.length; i++) {
    const o = i * SEGMENT_HEAD;
    visit(
      segment.terms[i],
      Number(segment.heads.readBigInt64BE(o)),
      segment.heads.readInt32BE(o + 16),
      segment.heads.readInt32BE(o + 28),
      segment.heads.readInt32BE(o + 32),
    );
  }
}

/** Each block of a segment, with its term, decoded. */
export function segmentBlocks(segment: SegmentRow): { term: string; decoded: DecodedBlock }[] {
  const blocks: { term: string; decoded: DecodedBlock }[] = [];
  forEachSegmentBlock(segment, (term, first, postings, offset, length) =>
    blocks.push({
      term,
      decoded: decodeBlock(segment.data.subarray(offset, offset + length), first, postings),
    }),
  );
  return blocks;
}

/** Each term's postings (sorted by chunk id) as blocks, terms in key order. */
export function termBlocks(byTerm: ReadonlyMap<string, Posting[]>): TermBlock[] {
  const out: TermBlock[] = [];
  for (const term of [...byTerm.keys()].sort(cmp))
    for (const block of encodeBlocks(byTerm.get(term)!)) out.push({ ...block, term });
  return out;
}

/** Blocks' bytes as one buffer, with each block's offset and length in it. */
export function concat(blocks: readonly EncodedBlock[]) {
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

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
