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
 * Many terms' postings, from many blocks, decoded into three arrays shared by all, each term's in one
 * range of them: what a merge round gathers, or a new segment. Every block is `count`ed first (its
 * header says how many postings it holds), then the arrays are allocated, then each block is `decode`d
 * (or each posting `push`ed) into its term's range, and `encode` writes a term's range back as full
 * blocks. A round decodes tens of thousands of (segment, term) blocks; decoding each into arrays of its
 * own (decodeBlock) made most of a merge's garbage, and took the single binary's heap from 60 to 170 MiB
 * for the merges that follow a SciFact load.
 */
export class PostingRuns {
  private readonly index = new Map<string, number>();
  private readonly counts: number[] = [];
  private readonly lows: number[] = [];
  private starts = new Float64Array(0);
  private fills = new Float64Array(0);
  private all: DecodedBlock = { ids: new Float64Array(0), tfs: new Uint32Array(0), lens: new Uint32Array(0) };

  /** Makes room for a block of `term` whose first chunk is `firstChunk`; only before `allocate`. */
  count(term: string, firstChunk: number, postings: number): void {
    let i = this.index.get(term);
    if (i === undefined) {
      i = this.counts.length;
      this.index.set(term, i);
      this.counts.push(0);
      this.lows.push(Infinity);
    }
    this.counts[i] += postings;
    if (firstChunk < this.lows[i]) this.lows[i] = firstChunk;
  }

  /** The terms counted, in the order first counted. */
  terms(): string[] {
    return [...this.index.keys()];
  }

  /** The lowest first chunk of a term's blocks counted. */
  lowest(term: string): number {
    return this.lows[this.index.get(term)!];
  }

  allocate(): void {
    const n = this.counts.length;
    this.starts = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) this.starts[i + 1] = this.starts[i] + this.counts[i];
    this.fills = this.starts.slice(0, n);
    const total = this.starts[n];
    this.all = { ids: new Float64Array(total), tfs: new Uint32Array(total), lens: new Uint32Array(total) };
  }

  /** Decodes `data`, a block of `term`, after the term's postings decoded so far. */
  decode(term: string, data: Uint8Array, firstChunk: number, postings: number): void {
    const i = this.room(term, postings);
    decodeInto(this.all, this.fills[i], data, firstChunk, postings);
    this.fills[i] += postings;
  }

  /** Adds one posting of `term` after those so far (counted as a block of one). */
  push(term: string, chunkId: number, tf: number, len: number): void {
    const at = this.fills[this.room(term, 1)]++;
    this.all.ids[at] = chunkId;
    this.all.tfs[at] = tf;
    this.all.lens[at] = len;
  }

  /** The index of `term`, whose range must have room for `postings` more. */
  private room(term: string, postings: number): number {
    const i = this.index.get(term);
    if (i === undefined || this.fills[i] + postings > this.starts[i + 1])
      throw new Error(`a block of "${term}" was not counted before the postings were allocated`);
    return i;
  }

  /** A term's postings as full blocks (the last holding what is left), sorted by chunk id first if need be. */
  encode(term: string): EncodedBlock[] {
    const i = this.index.get(term)!;
    const from = this.starts[i];
    const to = this.fills[i];
    if (to !== this.starts[i + 1]) throw new Error(`a block of "${term}" was counted but not decoded`);
    sortRange(this.all, from, to);
    return encodeSpan(this.all, from, to);
  }
}

/**
 * Sorts postings `from` to `to` of a run by chunk id. Blocks decoded in id order are usually in order
 * already, and are then only checked.
 */
function sortRange(run: DecodedBlock, from: number, to: number): void {
  let sorted = true;
  for (let i = from + 1; i < to && sorted; i++) sorted = run.ids[i - 1] < run.ids[i];
  if (sorted) return;
  const ids = run.ids.slice(from, to);
  const tfs = run.tfs.slice(from, to);
  const lens = run.lens.slice(from, to);
  const order = Array.from({ length: to - from }, (_, i) => i).sort((a, b) => ids[a] - ids[b]);
  order.forEach((k, i) => {
    run.ids[from + i] = ids[k];
    run.tfs[from + i] = tfs[k];
    run.lens[from + i] = lens[k];
  });
}

/** Reads a block written by `encodeBlock`; `firstChunk` and `postings` come from its header. */
export function decodeBlock(data: Uint8Array, firstChunk: number, postings: number): DecodedBlock {
  const block = {
    ids: new Float64Array(postings),
    tfs: new Uint32Array(postings),
    lens: new Uint32Array(postings),
  };
  decodeInto(block, 0, data, firstChunk, postings);
  return block;
}

/**
 * Where a read round's blocks are decoded: one set of arrays for them all, each block a view of its part (a
 * search reads thousands of 128-posting blocks, and three arrays of their own each made much of its
 * garbage). Blocks are decoded in any order, each into its place, as soon as their bytes are at hand.
 */
export class DecodedBlocks {
  /** The blocks, in the order given; each holds its postings once decoded. */
  readonly blocks: DecodedBlock[];
  private readonly all: DecodedBlock;
  private readonly starts: number[] = [];

  constructor(private readonly headers: readonly { firstChunk: number; postings: number }[]) {
    let total = 0;
    for (const h of headers) {
      this.starts.push(total);
      total += h.postings;
    }
    const all = { ids: new Float64Array(total), tfs: new Uint32Array(total), lens: new Uint32Array(total) };
    this.all = all;
    this.blocks = headers.map((h, i) => {
      const at = this.starts[i];
      const end = at + h.postings;
      return {
        ids: all.ids.subarray(at, end),
        tfs: all.tfs.subarray(at, end),
        lens: all.lens.subarray(at, end),
      };
    });
  }

  /** Decodes block `i` from `data`, written by `encodeBlock`. */
  decode(i: number, data: Uint8Array): void {
    decodeInto(this.all, this.starts[i], data, this.headers[i].firstChunk, this.headers[i].postings);
  }
}

/** Decodes the block `data` into `into`'s arrays from index `at`. */
function decodeInto(
  into: DecodedBlock,
  at: number,
  data: Uint8Array,
  firstChunk: number,
  postings: number,
): void {
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
  const { ids, tfs, lens } = into;
  let id = firstChunk;
  for (let i = at; i < at + postings; i++) {
    id += next();
    ids[i] = id;
    tfs[i] = next();
    lens[i] = next();
  }
}

/** Splits postings sorted by chunk id into full blocks, the last one holding what is left. */
export function encodeBlocks(postings: readonly Posting[] | DecodedBlock): EncodedBlock[] {
  const run = Array.isArray(postings) ? toRun(postings) : (postings as DecodedBlock);
  return encodeSpan(run, 0, run.ids.length);
}

/**
 * Postings `from` to `to` (exclusive) of a run sorted by chunk id as full blocks, the last one holding
 * what is left.
 */
function encodeSpan(run: DecodedBlock, from: number, to: number): EncodedBlock[] {
  const blocks: EncodedBlock[] = [];
  for (let at = from; at < to; at += BLOCK_SIZE)
    blocks.push(encodeRange(run, at, Math.min(to, at + BLOCK_SIZE)));
  return blocks;
}

/** The postings of decoded blocks, merged into one list in chunk-id order. */
export function postingsOf(blocks: readonly DecodedBlock[]): Posting[] {
  const out: Posting[] = [];
  for (const b of blocks)
    for (let i = 0; i < b.ids.length; i++) out.push({ chunkId: b.ids[i], tf: b.tfs[i], len: b.lens[i] });
  return out.sort((a, b) => a.chunkId - b.chunkId);
}
