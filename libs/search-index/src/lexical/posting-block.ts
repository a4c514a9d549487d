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

/** Bytes a posting can take at most: three varints of up to 8 bytes (chunk ids stay below 2^53). */
const MAX_POSTING_BYTES = 24;
/**
 * Where a block is encoded before its bytes are copied out: one buffer for every block, since a merge
 * encodes tens of thousands of them, and a fresh 3 KiB array each is garbage for the collector to catch.
 */
const scratch = new Uint8Array(BLOCK_SIZE * MAX_POSTING_BYTES);

function writeVarint(out: Uint8Array, at: number, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a varint`);
  while (value >= 0x80) {
    out[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}

/**
 * Encodes postings `from` to `to` (exclusive) of a run sorted by chunk id, with no id twice, as one
 * block. A block that loses postings keeps its first chunk id (`base`, at most the first posting's),
 * since the id range is the block's key: the first gap is taken from it.
 */
export function encodeRange(run: DecodedBlock, from: number, to: number, base = run.ids[from]): EncodedBlock {
  const n = to - from;
  if (n <= 0 || n > BLOCK_SIZE) throw new RangeError(`a block holds 1 to ${BLOCK_SIZE} postings, not ${n}`);
  if (base > run.ids[from]) throw new RangeError('a block starts at or before its first posting');
  const bytes = scratch;
  let at = 0;
  let previous = base;
  let maxTf = 0;
  let minLen = Number.MAX_SAFE_INTEGER;
  for (let i = from; i < to; i++) {
    const id = run.ids[i];
    const gap = id - previous;
    if (i > from && gap <= 0) throw new RangeError('postings must be in ascending chunk-id order');
    at = writeVarint(bytes, at, gap);
    at = writeVarint(bytes, at, run.tfs[i]);
    at = writeVarint(bytes, at, run.lens[i]);
    previous = id;
    if (run.tfs[i] > maxTf) maxTf = run.tfs[i];
    if (run.lens[i] < minLen) minLen = run.lens[i];
  }
  return {
    firstChunk: base,
    lastChunk: previous,
    postings: n,
    maxTf,
    minLen,
    data: Buffer.from(bytes.subarray(0, at)),
  };
}

/** `encodeRange` of a list of postings. */
export function encodeBlock(postings: readonly Posting[], base = postings[0]?.chunkId): EncodedBlock {
  return encodeRange(toRun(postings), 0, postings.length, base);
}

/** Postings as parallel arrays. */
export function toRun(postings: readonly Posting[]): DecodedBlock {
  const run = {
    ids: new Float64Array(postings.length),
    tfs: new Uint32Array(postings.length),
    lens: new Uint32Array(postings.length),
  };
  postings.forEach((p, i) => {
    run.ids[i] = p.chunkId;
    run.tfs[i] = p.tf;
    run.lens[i] = p.len;
  });
  return run;
}

/**
 * Runs (decoded blocks, a term's postings in several places) as one run in chunk-id order. Blocks read
 * in id order are usually in order already, and are only copied then.
 */
export function mergeRuns(runs: readonly DecodedBlock[]): DecodedBlock {
  const n = runs.reduce((sum, r) => sum + r.ids.length, 0);
  let ids = new Float64Array(n);
  let tfs = new Uint32Array(n);
  let lens = new Uint32Array(n);
  let at = 0;
  for (const r of runs) {
    ids.set(r.ids, at);
    tfs.set(r.tfs, at);
    lens.set(r.lens, at);
    at += r.ids.length;
  }
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = ids[i - 1] < ids[i];
  if (!sorted) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a] - ids[b]);
    const [oldIds, oldTfs, oldLens] = [ids, tfs, lens];
    ids = new Float64Array(n);
    tfs = new Uint32Array(n);
    lens = new Uint32Array(n);
    order.forEach((from, i) => {
      ids[i] = oldIds[from];
      tfs[i] = oldTfs[from];
      lens[i] = oldLens[from];
    });
  }
  return { ids, tfs, lens };
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
export function encodeBlocks(postings: readonly Posting[] | DecodedBlock): EncodedBlock[] {
  const run = Array.isArray(postings) ? toRun(postings) : (postings as DecodedBlock);
  const blocks: EncodedBlock[] = [];
  for (let i = 0; i < run.ids.length; i += BLOCK_SIZE)
    blocks.push(encodeRange(run, i, Math.min(run.ids.length, i + BLOCK_SIZE)));
  return blocks;
}

/** The postings of decoded blocks, merged into one list in chunk-id order. */
export function postingsOf(blocks: readonly DecodedBlock[]): Posting[] {
  const out: Posting[] = [];
  for (const b of blocks)
    for (let i = 0; i < b.ids.length; i++) out.push({ chunkId: b.ids[i], tf: b.tfs[i], len: b.lens[i] });
  return out.sort((a, b) => a.chunkId - b.chunkId);
}
