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
 * Blocks read in each round; the last round reads all that are left above the bar. The first round
 * reads the blocks whose own term scores most (a rare term's, whose chunks set a high bar at once: by
 * bound alone, a rare term's block spanning the whole collection ties with every block it overlaps),
 * the others the best bounds first.
 */
const ROUNDS = [16, 128, 1024];
/** Postings (of all the query's blocks) up to which a query reads every block at once. */
const READ_ALL_POSTINGS = 8_192;

/**
 * Exact top-k BM25 over block-max postings (after Ding & Suel's Block-Max WAND, adapted to a store where
 * each read is a round trip): blocks are read best bound first, in a few rounds, and a block is read only
 * while its bound can still reach the k-th best score seen so far.
 *
 * A block's bound is its own term's best score in it (from the header's largest frequency and smallest
 * length) plus, for each other query term, the best that term scores anywhere in the block's chunk-id
 * range. That range is cut into buckets; per term and bucket the best is the header bound of every block
 * of the term reaching the bucket, or, for a block already read, the true score of its postings there.
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
  const best = request.terms.map(() => new Float64Array(buckets));

  const partial = new Map<number, number>();
  const byTerm = request.terms.map(() => new Map<number, number>());
  const accepted = new Map<number, boolean>();
  let read = 0;
  let bar = -Infinity;

  const refreshBounds = () => {
    for (const m of best) m.fill(0);
    for (const e of entries) {
      const m = best[e.term];
      if (e.read) {
        const { ids, tfs, lens } = e.read;
        for (let i = 0; i < ids.length; i++) {
          const r = bucketOf(ids[i]);
          const s = score(e.term, tfs[i], lens[i]);
          if (s > m[r]) m[r] = s;
        }
      } else {
        for (let r = bucketOf(e.header.firstChunk), end = bucketOf(e.header.lastChunk); r <= end; r++)
          if (e.ub > m[r]) m[r] = e.ub;
      }
    }
    for (const e of entries) {
      if (e.read) continue;
      let others = 0;
      for (let r = bucketOf(e.header.firstChunk), end = bucketOf(e.header.lastChunk); r <= end; r++) {
        let sum = 0;
        for (let t = 0; t < best.length; t++) if (t !== e.term) sum += best[t][r];
        if (sum > others) others = sum;
      }
      e.bound = e.ub + others;
    }
  };

  /** Reads blocks in one round trip, scores their postings, and raises the bar. */
  const readRound = async (batch: Entry[]) => {
    const blocks = await request.fetch(batch.map((e) => e.header));
    batch.forEach((e, i) => {
      const block = blocks[i];
      e.read = block;
      const contributions = byTerm[e.term];
      for (let p = 0; p < block.ids.length; p++) {
        const id = block.ids[p];
        const s = score(e.term, block.tfs[p], block.lens[p]);
        contributions.set(id, s);
        partial.set(id, (partial.get(id) ?? 0) + s);
      }
    });
    read += batch.length;
    bar = await kthBest();
  };

  /** The k-th best partial score among the chunks the filter lets through, or -Infinity. */
  const kthBest = async (): Promise<number> => {
    const ranked = [...partial].sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    if (!request.accept) return ranked.length >= request.k ? ranked[request.k - 1][1] : -Infinity;
    let found = 0;
    for (let i = 0; i < ranked.length;) {
      const unknown: number[] = [];
      for (let j = i; j < ranked.length && unknown.length < request.k * 4; j++)
        if (!accepted.has(ranked[j][0])) unknown.push(ranked[j][0]);
      if (unknown.length > 0) {
        const ok = await request.accept(unknown);
        for (const id of unknown) accepted.set(id, ok.has(id));
      }
      for (; i < ranked.length; i++) {
        const known = accepted.get(ranked[i][0]);
        if (known === undefined) break;
        if (known && ++found === request.k) return ranked[i][1];
      }
    }
    return -Infinity;
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
    await readRound(round < ROUNDS.length ? due.slice(0, ROUNDS[round]) : due);
  }

  // Every chunk that can still be in the top k, scored term by term in query order.
  const candidates: ScoredChunkTerms[] = [];
  for (const [id, p] of partial) {
    if (p < bar * (1 - SLACK)) continue;
    const perTerm = byTerm.map((m) => m.get(id) ?? 0);
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
    for (const end = Math.min(candidates.length, i + request.k * 4); i < end && hits.length < request.k; i++)
      if (!request.accept || accepted.get(candidates[i].id)) hits.push(candidates[i]);
  }
  return { hits, terms: stats, blocks: { total, read } };
}
