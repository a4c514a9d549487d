/**
 * One block of a term's postings, as stored: up to BLOCK_SIZE postings of ascending chunk id, each a
 * chunk id (as the gap from the previous one), the term's frequency in the chunk and the chunk's length
 * in terms, written as unsigned LEB128 varints. The header (first and last chunk id, the number of
 * postings, the largest frequency and the smallest length) is kept in columns beside the bytes, so a
 * query can bound what any chunk of the block may score without reading the block (block-max).
 *
 * Gaps are small in a frequent term's blocks (1 byte at 1M chunks for a term in one chunk of four) and
 * frequencies and lengths are small integers, so a posting takes 3 to 5 bytes against about 100 bytes
 * as a row of its own with its index entry.
 */
export const BLOCK_SIZE = 128;

export interface Posting {
  chunkId: number;
  tf: number;
  len: number;
}

export interface BlockHeader {
  firstChunk: number;
  lastChunk: number;
  postings: number;
  maxTf: number;
  minLen: number;
}

export interface EncodedBlock extends BlockHeader {
  data: Buffer;
}

/** A block read back: parallel arrays in chunk-id order. */
export interface DecodedBlock {
  ids: Float64Array;
  tfs: Uint32Array;
  lens: Uint32Array;
}

function writeVarint(out: number[], value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a varint`);
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/**
 * Encodes postings that are already sorted by chunk id, with no id twice, as one block. A block that
 * loses postings keeps its first chunk id (`base`, at most the first posting's), since the id range is
 * the block's key: the first gap is taken from it.
 */
export function encodeBlock(postings: readonly Posting[], base = postings[0]?.chunkId): EncodedBlock {
  if (postings.length === 0 || postings.length > BLOCK_SIZE)
    throw new RangeError(`a block holds 1 to ${BLOCK_SIZE} postings, not ${postings.length}`);
  if (base > postings[0].chunkId) throw new RangeError('a block starts at or before its first posting');
  const bytes: number[] = [];
  let previous = base;
  let maxTf = 0;
  let minLen = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < postings.length; i++) {
    const p = postings[i];
    const gap = p.chunkId - previous;
    if (i > 0 && gap <= 0) throw new RangeError('postings must be in ascending chunk-id order');
    writeVarint(bytes, gap);
    writeVarint(bytes, p.tf);
    writeVarint(bytes, p.len);
    previous = p.chunkId;
    if (p.tf > maxTf) maxTf = p.tf;
    if (p.len < minLen) minLen = p.len;
  }
  return {
    firstChunk: base,
    lastChunk: previous,
    postings: postings.length,
    maxTf,
    minLen,
    data: Buffer.from(bytes),
  };
}

/** Reads a block written by `encodeBlock`; `firstChunk` and `postings` come from its header. */
export function decodeBlock(data: Uint8Array, firstChunk: number, postings: number): DecodedBlock {
  const ids = new Float64Array(postings);
  const tfs = new Uint32Array(postings);
  const lens = new Uint32Array(postings);
  let offset = 0;
  const next = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = data[offset++];
      if (byte === undefined) throw new RangeError('a posting block ends in the middle of a posting');
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  };
  let id = firstChunk;
  for (let i = 0; i < postings; i++) {
    id += next();
    ids[i] = id;
    tfs[i] = next();
    lens[i] = next();
  }
  return { ids, tfs, lens };
}

/** Splits postings sorted by chunk id into full blocks, the last one holding what is left. */
export function encodeBlocks(postings: readonly Posting[]): EncodedBlock[] {
  const blocks: EncodedBlock[] = [];
  for (let i = 0; i < postings.length; i += BLOCK_SIZE)
    blocks.push(encodeBlock(postings.slice(i, i + BLOCK_SIZE)));
  return blocks;
}

/** The postings of decoded blocks, merged into one list in chunk-id order. */
export function postingsOf(blocks: readonly DecodedBlock[]): Posting[] {
  const out: Posting[] = [];
  for (const b of blocks)
    for (let i = 0; i < b.ids.length; i++) out.push({ chunkId: b.ids[i], tf: b.tfs[i], len: b.lens[i] });
  return out.sort((a, b) => a.chunkId - b.chunkId);
}
