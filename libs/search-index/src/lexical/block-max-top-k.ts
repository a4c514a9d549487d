import { type BlockHeader, type DecodedBlock } from './posting-block.js';

/** Okapi BM25's parameters and the collection statistics a query is scored with. */
export interface Bm25Scoring {
  k1: number;
  b: number;
  /** Chunks in the collection. */
  chunks: number;
  /** Their average length in terms. */
  avgdl: number;
}

/** A query term: its weight (how often it is in the query) and the headers of its blocks. */
export interface QueryTermBlocks<B extends BlockHeader> {
  term: string;
  weight: number;
  blocks: readonly B[];
}

export interface TopKRequest<B extends BlockHeader> {
  terms: readonly QueryTermBlocks<B>[];
  k: number;
  scoring: Bm25Scoring;
  /** Reads the postings of blocks, in the order asked. */
  fetch(blocks: readonly B[]): Promise<DecodedBlock[]>;
  /** The chunks, of those given, that a filter lets through; absent when the search has no filter. */
  accept?(ids: readonly number[]): Promise<ReadonlySet<number>>;
  /** Postings (of all the query's blocks) up to which every block is read at once; READ_ALL_POSTINGS. */
  readAllPostings?: number;
}

export interface ScoredChunkTerms {
  id: number;
  score: number;
  /** The BM25 score of each query term in this chunk, in the order of the query's terms (0 if absent). */
  terms: number[];
}

export interface TopKResult {
  hits: ScoredChunkTerms[];
  /** Each term's document frequency and idf, in the order of the query's terms. */
  terms: { term: string; df: number; idf: number }[];
  /** How many blocks the query's terms have, and how many were read: the work block-max saved. */
  blocks: { total: number; read: number };
}

/**
 * Relative slack on every bound comparison: a block's bound and a chunk's score are the same sums
 * computed in different orders, so they may differ in the last bits; pruning a hair later keeps it exact.
 */
const SLACK = 1e-9;
/** Buckets the query's chunk-id range is cut into for the block-max bounds. */
const BUCKETS = 4096;
/**
 * Blocks the first round reads: those whose own term scores most (a rare term's, whose chunks set a high
 * bar at once: by bound alone, a rare term's block spanning the whole collection ties with every block it
 * overlaps). Later rounds read every block that can still reach the bar, wide ones first.
 */
const FIRST_ROUND = 16;
/** Buckets a block spans from which it is read before narrower ones. */
const WIDE = 8;
/** Chunks (per hit asked for) whose every block a round reads next, to score them exactly. */
const COMPLETE = 2;
/** Postings (of all the query's blocks) up to which a query reads every block at once. */
const READ_ALL_POSTINGS = 8_192;

/**
 * Exact top-k BM25 over block-max postings (after Ding & Suel's Block-Max WAND, adapted to a store where
 * each read is a round trip): blocks are read best bound first, in a few rounds, and a block is read only
 * while its bound can still reach the k-th best score seen so far.
 *
 * A block's bound is its own term's best score in it (from the header's largest frequency and smallest
 * length) plus the most any chunk in its id range can get from the other blocks. The range is cut into
 * buckets; in each, that is the best partial score of a chunk there (what the blocks read so far gave it)
 * plus, for each other query term, the best header bound of that term's unread blocks reaching the
 * bucket. Partial scores are per chunk, so a bucket where one chunk has one rare term and another chunk
 * another does not count both.
 *
 * Why it is exact: every chunk of a block scores at most the block's bound, and the k-th best partial
 * score (the terms read so far, a lower bound of the true score) is at most the true k-th best score. So
 * every block holding a chunk of the true top k is read, those chunks' scores are complete, and no chunk
 * scored partially can pass them. Scores are summed in the query's term order, as an exhaustive scorer
 * does, and ties go to the lower chunk id.
 */
export async function blockMaxTopK<B extends BlockHeader>(request: TopKRequest<B>): Promise<TopKResult> {
  const { k1, b, avgdl } = request.scoring;
  const terms = request.terms.filter((t) => t.blocks.length > 0);
  const stats = request.terms.map((t) => {
    const df = t.blocks.reduce((s, block) => s + block.postings, 0);
    // N is at least df: statistics read a moment earlier may lag a collection that grows fast.
    const n = Math.max(request.scoring.chunks, df);
    return { term: t.term, df, idf: df === 0 ? 0 : t.weight * Math.log(1 + (n - df + 0.5) / (df + 0.5)) };
  });
  const termIndex = new Map(request.terms.map((t, i) => [t, i]));
  const score = (t: number, tf: number, len: number): number =>
    (stats[t].idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * len) / avgdl));

  interface Entry {
    term: number;
    header: B;
    bound: number;
    ub: number;
    read?: DecodedBlock;
  }
  const entries: Entry[] = [];
  for (const t of terms) {
    const ti = termIndex.get(t)!;
    for (const header of t.blocks)
      entries.push({ term: ti, header, ub: score(ti, header.maxTf, header.minLen), bound: Infinity });
  }
  const total = entries.length;
  if (total === 0 || request.k <= 0) return { hits: [], terms: stats, blocks: { total, read: 0 } };

  // Buckets over the chunk-id range of every block of the query.
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of entries) {
    lo = Math.min(lo, e.header.firstChunk);
    hi = Math.max(hi, e.header.lastChunk);
  }
  const span = hi - lo + 1;
  // No finer than the blocks themselves: each pass over the bounds costs a step per bucket and term.
  const buckets = Math.min(BUCKETS, span, Math.max(64, 2 * total));
  const bucketOf = (id: number) => Math.min(buckets - 1, Math.floor(((id - lo) * buckets) / span));
  // Per term and bucket, the best header bound of the term's blocks not read yet that reach the bucket.
  const unreadBest = request.terms.map(() => new Float64Array(buckets));

  const partial = new ScoreSums(lo, span);
  try {
    const accepted = new Map<number, boolean>();
    let read = 0;
    let bar = -Infinity;

    // The best partial score of any chunk in each bucket: what the blocks already read add at most there.
    const peak = new Float64Array(buckets);
    const refreshBounds = () => {
      for (const m of unreadBest) m.fill(0);
      for (const e of entries) {
        if (e.read) continue;
        const m = unreadBest[e.term];
        for (let r = bucketOf(e.header.firstChunk), end = bucketOf(e.header.lastChunk); r <= end; r++)
          if (e.ub > m[r]) m[r] = e.ub;
      }
      peak.fill(0);
      for (const id of partial.ids()) {
        const r = bucketOf(id);
        const p = partial.get(id);
        if (p > peak[r]) peak[r] = p;
      }
      // Every term's unread best and the peak, summed once per bucket; a block takes its own term out. The
      // difference may round a last bit below the sum of the others, which the SLACK of every comparison
      // covers many times over.
      const all = peak;
      for (const m of unreadBest) for (let r = 0; r < buckets; r++) all[r] += m[r];
      for (const e of entries) {
        if (e.read) continue;
        const own = unreadBest[e.term];
        let others = 0;
        for (let r = bucketOf(e.header.firstChunk), end = bucketOf(e.header.lastChunk); r <= end; r++) {
          const sum = all[r] - own[r];
          if (sum > others) others = sum;
        }
        e.bound = e.ub + others;
      }
    };

    // Each term's blocks by first chunk id, with the largest last chunk id up to each: the blocks holding a
    // chunk are found walking back from the last that starts at or before it, while any earlier one may
    // still reach it (one step for a term's merged blocks, which never overlap).
    const byStart = request.terms.map(() => [] as Entry[]);
    for (const e of entries) byStart[e.term].push(e);
    const reach = byStart.map((list) => {
      list.sort((x, y) => x.header.firstChunk - y.header.firstChunk);
      let most = -Infinity;
      return list.map((e) => (most = Math.max(most, e.header.lastChunk)));
    });
    const holding = (term: number, id: number, out: Set<Entry>) => {
      const list = byStart[term];
      let lo = 0;
      let hi = list.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid].header.firstChunk <= id) lo = mid + 1;
        else hi = mid - 1;
      }
      for (let j = hi; j >= 0 && reach[term][j] >= id; j--)
        if (list[j].header.lastChunk >= id) out.add(list[j]);
    };

    /**
     * Completes the best candidates: the unread blocks that hold one of the best COMPLETE × k chunks by
     * partial score, for any term. Their scores become exact, so the bar (the k-th best) rises to nearly
     * its final height at once, instead of creeping up from chunks scored on one term.
     */
    const complete = async () => {
      const best = topEntries(partial, COMPLETE * request.k);
      const blocks = new Set<Entry>();
      for (const [id] of best) for (let t = 0; t < byStart.length; t++) holding(t, id, blocks);
      const unread = [...blocks].filter((e) => !e.read);
      if (unread.length > 0) await readRound(unread);
    };

    /** Reads blocks in one round trip, scores their postings, and raises the bar. */
    const readRound = async (batch: Entry[]) => {
      const blocks = await request.fetch(batch.map((e) => e.header));
      batch.forEach((e, i) => {
        const block = blocks[i];
        e.read = block;
        const { ids, tfs, lens } = block;
        for (let p = 0; p < ids.length; p++) partial.add(ids[p], score(e.term, tfs[p], lens[p]));
      });
      read += batch.length;
      bar = await kthBest();
    };

    /**
     * The k-th best partial score among the chunks the filter lets through, or -Infinity. Only the best few
     * are ever sorted (a bounded heap): a frequent term puts tens of thousands of chunks in `partial`.
     */
    const kthBest = async (): Promise<number> => {
      for (let want = request.k; ; want *= 4) {
        const ranked = topEntries(partial, want);
        if (!request.accept) return ranked.length >= request.k ? ranked[request.k - 1][1] : -Infinity;
        const unknown = ranked.map(([id]) => id).filter((id) => !accepted.has(id));
        if (unknown.length > 0) {
          const ok = await request.accept(unknown);
          for (const id of unknown) accepted.set(id, ok.has(id));
        }
        let found = 0;
        for (const [id, score] of ranked) if (accepted.get(id) && ++found === request.k) return score;
        if (ranked.length < want) return -Infinity;
      }
    };

    // A query whose terms have few postings altogether (a small collection, rare terms) is cheaper read
    // whole in one round trip than bounded.
    const postings = entries.reduce((sum, e) => sum + e.header.postings, 0);
    for (let round = postings <= (request.readAllPostings ?? READ_ALL_POSTINGS) ? -1 : 0; ; round++) {
      if (round === -1) {
        await readRound(entries);
        break;
      }
      refreshBounds();
      const due = entries
        .filter((e) => !e.read && e.bound >= bar * (1 - SLACK))
        .sort(round === 0 ? (x, y) => y.ub - x.ub : (x, y) => y.bound - x.bound || y.ub - x.ub);
      if (due.length === 0) break;
      if (round === 0) {
        await readRound(due.slice(0, FIRST_ROUND));
        await complete();
        continue;
      }
      // Wide blocks (a rare or middling term's: few blocks over the whole collection) first: unread, each
      // adds its bound to every bucket it spans, and read, only to the few chunks it holds.
      const wide = due.filter((e) => bucketOf(e.header.lastChunk) - bucketOf(e.header.firstChunk) >= WIDE);
      await readRound(round === 1 && wide.length > 0 && wide.length < due.length ? wide : due);
    }

    // Every chunk that can still be in the top k, scored term by term in query order.
    const candidates: ScoredChunkTerms[] = [];
    /** What term `t` scores in chunk `id`, from the blocks read (0 if none holds it). */
    const termScore = (t: number, id: number): number => {
      const found = new Set<Entry>();
      holding(t, id, found);
      for (const e of found) {
        if (!e.read) continue;
        const ids = e.read.ids;
        let lo = 0;
        let hi = ids.length - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          // The same expression as when the block was read, so the same value to the last bit.
          if (ids[mid] === id) return score(t, e.read.tfs[mid], e.read.lens[mid]);
          if (ids[mid] < id) lo = mid + 1;
          else hi = mid - 1;
        }
      }
      return 0;
    };
    for (const id of partial.ids()) {
      if (partial.get(id) < bar * (1 - SLACK)) continue;
      const perTerm = request.terms.map((_, t) => termScore(t, id));
      let sum = 0;
      for (const s of perTerm) sum += s;
      candidates.push({ id, score: sum, terms: perTerm });
    }
    candidates.sort((x, y) => y.score - x.score || x.id - y.id);
    const hits: ScoredChunkTerms[] = [];
    for (let i = 0; i < candidates.length && hits.length < request.k;) {
      if (request.accept) {
        const unknown = candidates
          .slice(i, i + request.k * 4)
          .map((c) => c.id)
          .filter((id) => !accepted.has(id));
        if (unknown.length > 0) {
          const ok = await request.accept(unknown);
          for (const id of unknown) accepted.set(id, ok.has(id));
        }
      }
      for (
        const end = Math.min(candidates.length, i + request.k * 4);
        i < end && hits.length < request.k;
        i++
      )
        if (!request.accept || accepted.get(candidates[i].id)) hits.push(candidates[i]);
    }
    return { hits, terms: stats, blocks: { total, read } };
  } finally {
    partial.release();
  }
}

/**
 * Partial scores by chunk id. Dense over the query's chunk-id range when it is not too wide (a typed
 * array: no hashing), else a map. Every score added is positive, so a chunk is new while its sum is 0.
 * The dense arrays are kept for the next searches (`release`), zeroed where they were written: a fresh
 * one per search, 0.8 MB at 100k chunks and 8 MB at 1M, was most of the garbage a search left.
 */
export class ScoreSums {
  private readonly dense?: Float64Array;
  private readonly sparse?: Map<number, number>;
  private readonly touched: number[] = [];

  constructor(
    private readonly lo: number,
    span: number,
  ) {
    if (span <= DENSE_SPAN) this.dense = takeDense(span);
    else this.sparse = new Map();
  }

  add(id: number, score: number): void {
    if (this.dense) {
      const slot = id - this.lo;
      if (this.dense[slot] === 0) this.touched.push(id);
      this.dense[slot] += score;
    } else {
      const sum = this.sparse!.get(id);
      if (sum === undefined) this.touched.push(id);
      this.sparse!.set(id, (sum ?? 0) + score);
    }
  }

  get(id: number): number {
    return this.dense ? this.dense[id - this.lo] : (this.sparse!.get(id) ?? 0);
  }

  ids(): readonly number[] {
    return this.touched;
  }

  /** Gives the dense array back, zeroed, for another search; this object is not to be used after. */
  release(): void {
    const dense = this.dense;
    if (!dense) return;
    if (this.touched.length * 8 < dense.length) for (const id of this.touched) dense[id - this.lo] = 0;
    else dense.fill(0);
    if (spareBytes + dense.byteLength <= SPARE_BYTES) {
      spare.push(dense);
      spareBytes += dense.byteLength;
    }
  }
}

/** The widest chunk-id range (8 bytes a chunk id) partial scores are kept densely for. */
const DENSE_SPAN = 1 << 22;
/** Bytes of zeroed dense arrays kept for the next searches: 8 searches at once of 1M chunks. */
const SPARE_BYTES = 64 * 1024 * 1024;
const spare: Float64Array[] = [];
let spareBytes = 0;

/** A zeroed array of at least `span` slots: a spare one if one is large enough, else a new one. */
function takeDense(span: number): Float64Array {
  const i = spare.findIndex((a) => a.length >= span);
  if (i >= 0) {
    spareBytes -= spare[i].byteLength;
    return spare.splice(i, 1)[0];
  }
  // Sized up to a power of two (at least 64 Ki slots), so that spares fit the next searches too.
  return new Float64Array(Math.max(1 << 16, 2 ** Math.ceil(Math.log2(span))));
}

/** The `m` best chunks by partial score, best first (ties to the lower id), by a bounded min-heap. */
export function topEntries(scores: ScoreSums, m: number): [number, number][] {
  // worse(a, b): a ranks below b.
  const worse = (a: [number, number], b: [number, number]) => a[1] < b[1] || (a[1] === b[1] && a[0] > b[0]);
  const heap: [number, number][] = [];
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < heap.length && worse(heap[l], heap[w])) w = l;
      if (r < heap.length && worse(heap[r], heap[w])) w = r;
      if (w === i) return;
      [heap[i], heap[w]] = [heap[w], heap[i]];
      i = w;
    }
  };
  if (m <= 0) return [];
  for (const id of scores.ids()) {
    const score = scores.get(id);
    if (heap.length < m) {
      heap.push([id, score]);
      for (let i = heap.length - 1; i > 0;) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    } else if (score > heap[0][1] || (score === heap[0][1] && id < heap[0][0])) {
      heap[0] = [id, score];
      down(0);
    }
  }
  return heap.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}
