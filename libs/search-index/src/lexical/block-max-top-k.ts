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
/**
 * Postings the first round reads at most: the terms that score most (the rare ones: their chunks set a
 * high bar at once), whole.
 */
const FIRST_ROUND_POSTINGS = 8_192;
/** Chunks (per hit asked for) whose every block a round reads next, to score them exactly. */
const COMPLETE = 2;
/** Postings (of all the query's blocks) up to which a query reads every block at once. */
const READ_ALL_POSTINGS = 8_192;

/**
 * Exact top-k BM25 over block-max postings: MaxScore (Turtle & Flood) over blocks with per-block bounds
 * (after Ding & Suel's Block-Max WAND), in four steps; each read of the store is one round trip.
 *
 * 1. The blocks that score most (a rare term's) are read, then 2. every block holding one of the best
 *    chunks so far, so those chunks' scores are exact and the bar (the k-th best score seen) is nearly
 *    as high as it will get.
 * 3. Terms split by their bound (the best score any of their blocks allows): the lowest-bound terms whose
 *    bounds add up to less than the bar are non-essential, since a chunk holding only those cannot reach
 *    it. Every block of the other, essential, terms is read, unless its own bound plus every other term's
 *    cannot reach the bar either.
 * 4. A chunk now in the running has an essential term, so it has a partial score. Of the non-essential
 *    terms' blocks, only those holding a chunk whose partial score plus the bounds of its unread blocks
 *    reaches the bar are read: one read a term, the best first, so each tightens the next one's bounds.
 *
 * Why it is exact: the k-th best partial score (the terms read so far, a lower bound of the true score)
 * is at most the true k-th best score, so every block skipped by a bound below it holds no chunk of the
 * true top k, and every block holding one is read: its scores are complete, and no chunk scored partially
 * can pass them. Scores are summed in the query's term order, as an exhaustive scorer does, and ties go
 * to the lower chunk id.
 *
 * Each step is a few passes over typed arrays: in JavaScript, bookkeeping per block and bucket cost more
 * than adding up the postings it saved (exhaustive scoring of 837,000 postings took 21 ms p50 in memory
 * at 1M chunks), so bounds are per term, and per block only where a chunk is looked up.
 */
export async function blockMaxTopK<B extends BlockHeader>(request: TopKRequest<B>): Promise<TopKResult> {
  const { k1, b, avgdl } = request.scoring;
  const stats = request.terms.map((t) => {
    const df = t.blocks.reduce((s, block) => s + block.postings, 0);
    // N is at least df: statistics read a moment earlier may lag a collection that grows fast.
    const n = Math.max(request.scoring.chunks, df);
    return { term: t.term, df, idf: df === 0 ? 0 : t.weight * Math.log(1 + (n - df + 0.5) / (df + 0.5)) };
  });
  const score = (t: number, tf: number, len: number): number =>
    (stats[t].idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * len) / avgdl));

  interface Entry {
    term: number;
    header: B;
    /** The best score of its own term in it. */
    ub: number;
    read?: DecodedBlock;
    /** Its place in its term's list (byStart). */
    index: number;
  }
  const entries: Entry[] = [];
  // Each term's blocks by first chunk id, with the largest last chunk id up to each: the blocks holding a
  // chunk are found walking back from the last that starts at or before it, while any earlier one may
  // still reach it (one step for a term's merged blocks, which never overlap).
  const byStart: Entry[][] = [];
  const reach: number[][] = [];
  /** Per term, the best score any of its blocks allows. */
  const termUb = new Float64Array(request.terms.length);
  request.terms.forEach((t, ti) => {
    const list: Entry[] = t.blocks.map((header) => ({
      term: ti,
      header,
      ub: score(ti, header.maxTf, header.minLen),
      index: 0,
    }));
    list.sort((x, y) => x.header.firstChunk - y.header.firstChunk);
    list.forEach((e, j) => (e.index = j));
    let most = -Infinity;
    byStart.push(list);
    reach.push(list.map((e) => (most = Math.max(most, e.header.lastChunk))));
    for (const e of list) {
      entries.push(e);
      if (e.ub > termUb[ti]) termUb[ti] = e.ub;
    }
  });
  // Each term's blocks as arrays (their id ranges, bounds, and which are unread yet, by their place in
  // byStart), and whether they never overlap (as a term's merged blocks): step 4 walks them for every chunk.
  const spans = byStart.map((list) => {
    const firsts = Float64Array.from(list, (e) => e.header.firstChunk);
    const lasts = Float64Array.from(list, (e) => e.header.lastChunk);
    let disjoint = true;
    for (let j = 1; j < list.length && disjoint; j++) disjoint = firsts[j] > lasts[j - 1];
    return {
      firsts,
      lasts,
      disjoint,
      ubs: Float64Array.from(list, (e) => e.ub),
      unread: new Uint8Array(list.length).fill(1),
    };
  });
  const total = entries.length;
  if (total === 0 || request.k <= 0) return { hits: [], terms: stats, blocks: { total, read: 0 } };

  let lo = Infinity;
  let hi = -Infinity;
  for (const e of entries) {
    lo = Math.min(lo, e.header.firstChunk);
    hi = Math.max(hi, e.header.lastChunk);
  }
  const partial = new ScoreSums(lo, hi - lo + 1);
  try {
    const accepted = new Map<number, boolean>();
    let read = 0;
    let bar = -Infinity;
    /** The least a bound may be and still reach the bar (loops over many chunks compare with it directly). */
    const floor = () => bar * (1 - SLACK);
    const reaches = (bound: number) => bound >= floor();

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
     * The k-th best partial score among the chunks the filter lets through, or -Infinity. Only the best few
     * are ever sorted (a bounded heap): a frequent term puts tens of thousands of chunks in `partial`.
     * Partial scores only grow, so the k chunks that set the bar still pass it, and no chunk below it can
     * be among the k best now: those are passed over without a look at the heap.
     */
    const kthBest = async (): Promise<number> => {
      for (let want = request.k; ; want *= 4) {
        const ranked = topEntries(partial, want, bar);
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

    /** Reads blocks in one round trip, scores their postings, and raises the bar. */
    const readRound = async (batch: Entry[]) => {
      if (batch.length === 0) return;
      const blocks = await request.fetch(batch.map((e) => e.header));
      batch.forEach((e, i) => {
        e.read = blocks[i];
        spans[e.term].unread[e.index] = 0;
        partial.addBlock(blocks[i], stats[e.term].idf * (k1 + 1), k1 * (1 - b), (k1 * b) / avgdl);
      });
      read += batch.length;
      bar = await kthBest();
    };

    /**
     * The non-essential terms for the bar now: the lowest-bound terms whose bounds sum below it. A chunk
     * holding none of the others scores below the bar.
     */
    const nonEssential = (): boolean[] => {
      const out = request.terms.map(() => false);
      let sum = 0;
      for (const t of request.terms.map((_, i) => i).sort((x, y) => termUb[x] - termUb[y])) {
        if (reaches(sum + termUb[t])) break;
        sum += termUb[t];
        out[t] = true;
      }
      return out;
    };

    const postings = entries.reduce((sum, e) => sum + e.header.postings, 0);
    if (postings <= (request.readAllPostings ?? READ_ALL_POSTINGS)) await readRound(entries);
    else {
      // 1. The terms that score most, whole, while they fit FIRST_ROUND_POSTINGS; if the first does not,
      // its best blocks.
      const first: Entry[] = [];
      let budget = FIRST_ROUND_POSTINGS;
      for (const t of byStart.map((_, i) => i).sort((x, y) => termUb[y] - termUb[x])) {
        if (stats[t].df > budget) {
          if (first.length === 0)
            for (const e of [...byStart[t]].sort((x, y) => y.ub - x.ub)) {
              if (first.length > 0 && e.header.postings > budget) break;
              first.push(e);
              budget -= e.header.postings;
            }
          break;
        }
        first.push(...byStart[t]);
        budget -= stats[t].df;
      }
      await readRound(first);

      // 2. Every block holding one of the best COMPLETE × k chunks.
      const holdingBest = new Set<Entry>();
      for (const [id] of topEntries(partial, COMPLETE * request.k))
        for (let t = 0; t < byStart.length; t++) holding(t, id, holdingBest);
      await readRound([...holdingBest].filter((e) => !e.read));

      // 3. The essential terms' blocks.
      const skippable = nonEssential();
      let sumUb = 0;
      for (const u of termUb) sumUb += u;
      await readRound(
        entries.filter((e) => !e.read && !skippable[e.term] && reaches(e.ub + sumUb - termUb[e.term])),
      );

      // 4. The non-essential terms' blocks holding a chunk that can still reach the bar, best term first,
      // a round each: what a term's blocks add to its chunks tightens the bounds for the next. Chunks are
      // walked in id order, each term's blocks alongside.
      const probing = nonEssential();
      const probed = byStart
        .map((_, t) => t)
        .filter((t) => probing[t])
        .sort((x, y) => termUb[y] - termUb[x]);
      let most = 0;
      for (const t of probed) most += termUb[t];
      // The chunks that can reach the bar with every non-essential term, by id.
      let ids = partial.sorted(floor() - most);
      /**
       * Calls `visit` with each unread block of term t holding each chunk of `ids`, in order. For a term
       * whose blocks never overlap (every merged term), `blockOf` does the same in one tight loop.
       */
      const walk = (t: number, visit: (i: number, e: Entry) => void) => {
        const list = byStart[t];
        let j = 0;
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i];
          while (j < list.length && list[j].header.firstChunk <= id) j++;
          for (let x = j - 1; x >= 0 && reach[t][x] >= id; x--) {
            const e = list[x];
            if (!e.read && e.header.lastChunk >= id) visit(i, e);
          }
        }
      };
      /** Per chunk of `ids`, the index in byStart[t] of the unread block of term t holding it, or -1. */
      const at = new Int32Array(ids.length);
      const blockOf = (t: number) => {
        const { firsts, lasts, unread } = spans[t];
        let j = 0;
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i];
          while (j < lasts.length && lasts[j] < id) j++;
          at[i] = j < lasts.length && firsts[j] <= id && unread[j] === 1 ? j : -1;
        }
      };
      // Per chunk of `ids`: what its unread blocks of the terms not probed yet may add, and its partial score.
      let rest = new Float64Array(ids.length);
      for (const t of probed) {
        if (!spans[t].disjoint) {
          walk(t, (i, e) => (rest[i] += e.ub));
          continue;
        }
        blockOf(t);
        const { ubs } = spans[t];
        for (let i = 0; i < ids.length; i++) if (at[i] >= 0) rest[i] += ubs[at[i]];
      }
      let sums = new Float64Array(ids.length);
      for (let i = 0; i < ids.length; i++) sums[i] = partial.get(ids[i]);
      // What the term probed adds at most, per chunk (one array for every term: a few MB at 1M chunks).
      const own = new Float64Array(ids.length);
      for (const t of probed) {
        own.fill(0, 0, ids.length);
        const due = new Set<Entry>();
        if (spans[t].disjoint) {
          blockOf(t);
          const { ubs } = spans[t];
          const list = byStart[t];
          const least = floor();
          let last = -1;
          for (let i = 0; i < ids.length; i++) {
            const j = at[i];
            if (j < 0) continue;
            own[i] = ubs[j];
            // Chunks in id order, so a block's are together: add it once.
            if (j !== last && sums[i] + rest[i] >= least) {
              due.add(list[j]);
              last = j;
            }
          }
        } else
          walk(t, (i, e) => {
            own[i] += e.ub;
            if (reaches(sums[i] + rest[i])) due.add(e);
          });
        await readRound([...due]);
        // Chunks that can still reach the bar, with what the next terms may add.
        let kept = 0;
        const least = floor();
        for (let i = 0; i < ids.length; i++) {
          const sum = partial.get(ids[i]);
          const more = rest[i] - own[i];
          if (sum + more < least) continue;
          ids[kept] = ids[i];
          sums[kept] = sum;
          rest[kept++] = more;
        }
        ids = ids.subarray(0, kept);
        sums = sums.subarray(0, kept);
        rest = rest.subarray(0, kept);
      }
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
    const least = floor();
    for (let i = 0; i < partial.size; i++) {
      if (partial.sum(i) < least) continue;
      const id = partial.id(i);
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
 * Partial scores by chunk id, kept compact: the chunks in the order first scored (`id(i)`, `sum(i)`, for
 * i below `size`), so that every pass over them (the k-th best, the candidates) reads two arrays in order.
 * A chunk's place is found through an array over the query's chunk-id range when that range is not too
 * wide (no hashing), else a map. Its arrays are kept for the next searches (`release`): at 1M chunks a
 * search's are 4 MB of places and up to 8 MB of ids and sums, and fresh ones each search were most of
 * the garbage it left (large typed arrays also make V8 collect sooner).
 */
export class ScoreSums {
  /** Per chunk id from `lo`, its place + 1 (0: not scored yet); absent when the range is too wide. */
  private readonly places?: Int32Array;
  private readonly map?: Map<number, number>;
  private ids: Float64Array;
  private sums: Float64Array;
  /**
   * Chunks both `ids` and `sums` have room for. A spare array may be larger than the one asked for, so
   * the two can differ (a pair is split when the spares' bound lets one back in and not the other), and a
   * score written past the end of `sums` would be lost.
   */
  private capacity: number;
  size = 0;

  constructor(
    private readonly lo: number,
    private readonly span: number,
    private readonly floats: Spares<Float64Array> = spareFloats,
  ) {
    if (span <= DENSE_SPAN) this.places = spareInts.take(span);
    else this.map = new Map();
    this.ids = floats.take(1024);
    this.sums = floats.take(1024);
    this.capacity = Math.min(this.ids.length, this.sums.length);
  }

  /** The place of chunk `id`, made if it has none. */
  private place(id: number): number {
    const places = this.places;
    let at = places ? places[id - this.lo] - 1 : (this.map!.get(id) ?? -1);
    if (at < 0) {
      at = this.size++;
      if (at === this.capacity) {
        this.ids = this.floats.grow(this.ids, at);
        this.sums = this.floats.grow(this.sums, at);
        this.capacity = Math.min(this.ids.length, this.sums.length);
      }
      this.ids[at] = id;
      this.sums[at] = 0;
      if (places) places[id - this.lo] = at + 1;
      else this.map!.set(id, at);
    }
    return at;
  }

  /**
   * Adds a term's BM25 scores over a block's postings: `weight` tf / (tf + `c1` + `c2` len), the same
   * expression as `Bm25Scoring`'s with its constants taken out.
   */
  addBlock(block: DecodedBlock, weight: number, c1: number, c2: number): void {
    const { ids, tfs, lens } = block;
    for (let p = 0; p < ids.length; p++) {
      const tf = tfs[p];
      // The place first: making it may replace `sums`, which `this.sums[this.place(…)] +=` would have
      // read before, adding the score to the array replaced.
      const at = this.place(ids[p]);
      this.sums[at] += (weight * tf) / (tf + c1 + c2 * lens[p]);
    }
  }

  /**
   * The chunks whose sum is at least `min`, by id. When they are many for the id range (at 1M chunks a query
   * has 40,000 to 400,000), the range's places are walked in order: a pass over an array of the range,
   * where sorting them took a twentieth of a search.
   */
  sorted(min: number): Float64Array {
    const out = new Float64Array(this.size);
    let n = 0;
    const places = this.places;
    if (places && this.size * WALK_PLACES > this.span) {
      for (let j = 0; j < this.span; j++) {
        const at = places[j];
        if (at !== 0 && this.sums[at - 1] >= min) out[n++] = this.lo + j;
      }
      return out.subarray(0, n);
    }
    for (let i = 0; i < this.size; i++) if (this.sums[i] >= min) out[n++] = this.ids[i];
    return out.subarray(0, n).sort();
  }

  get(id: number): number {
    const at = this.places ? this.places[id - this.lo] - 1 : (this.map!.get(id) ?? -1);
    return at < 0 ? 0 : this.sums[at];
  }

  id(i: number): number {
    return this.ids[i];
  }

  sum(i: number): number {
    return this.sums[i];
  }

  /** Gives the arrays back (the places zeroed) for another search; this object is not to be used after. */
  release(): void {
    const places = this.places;
    if (places) {
      if (this.size * 8 < places.length)
        for (let i = 0; i < this.size; i++) places[this.ids[i] - this.lo] = 0;
      else places.fill(0);
      spareInts.give(places);
    }
    this.floats.give(this.ids);
    this.floats.give(this.sums);
  }
}

/** The widest chunk-id range (4 bytes a chunk id) a search finds its chunks' places through an array for. */
const DENSE_SPAN = 1 << 23;
/**
 * Chunks scored, as a share of the id range (1 in WALK_PLACES), above which their places are walked in id
 * order rather than their ids sorted.
 */
const WALK_PLACES = 32;

/**
 * Arrays given back by finished searches, for the next ones, up to `maxBytes`. Sizes are powers of two, so
 * that one search's arrays fit the next ones'. What an array held is left in it: zeroed only where a
 * user needs it (the places are zeroed before they are given back).
 */
export class Spares<A extends Int32Array | Float64Array> {
  private readonly arrays: A[] = [];
  private bytes = 0;

  constructor(
    private readonly make: (length: number) => A,
    private readonly maxBytes: number,
  ) {}

  /** An array of at least `length` slots: a spare one if one is large enough, else a new, zeroed one. */
  take(length: number): A {
    const i = this.arrays.findIndex((a) => a.length >= length);
    if (i < 0) return this.make(Math.max(1 << 10, 2 ** Math.ceil(Math.log2(length))));
    this.bytes -= this.arrays[i].byteLength;
    return this.arrays.splice(i, 1)[0];
  }

  /** An array of more than `used` slots holding `array`'s first `used`; `array` is given back. */
  grow(array: A, used: number): A {
    const larger = this.take(used + 1);
    larger.set(array.subarray(0, used));
    this.give(array);
    return larger;
  }

  give(array: A): void {
    if (this.bytes + array.byteLength > this.maxBytes) return;
    this.arrays.push(array);
    this.bytes += array.byteLength;
  }
}

/** Zeroed place arrays: 8 searches at once over 2M chunks. */
const spareInts = new Spares<Int32Array>((n) => new Int32Array(Math.max(n, 1 << 16)), 64 * 1024 * 1024);
/** Partial scores' ids and sums: 8 searches at once of 256 Ki chunks scored. */
const spareFloats = new Spares<Float64Array>((n) => new Float64Array(n), 32 * 1024 * 1024);

/**
 * The `m` best chunks by partial score, best first (ties to the lower id), by a bounded min-heap; of
 * those scoring at least `floor`, when given.
 */
export function topEntries(scores: ScoreSums, m: number, floor = -Infinity): [number, number][] {
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
  for (let i = 0; i < scores.size; i++) {
    const score = scores.sum(i);
    if (score < floor) continue;
    const id = scores.id(i);
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
