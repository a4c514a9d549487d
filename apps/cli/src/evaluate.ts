import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestItem, IngestionPort, RetrievalPort, SearchHit, SearchMode } from '#contracts';
import { subsetCorpus, subsetQrels, type SubsetOptions } from './beir-subset.js';
import { datasetName } from './compare.js';
import { withRerankedHead, type EvalMode } from './eval-modes.js';
import { ingestDocuments } from './ingest-files.js';
import { InputError, readDocuments } from './load-documents.js';
import { documentRanking, meanMetrics, queryMetrics, type Qrels, type QueryMetrics } from '#ranking-metrics';

export interface EvalOptions extends SubsetOptions {
  dir: string;
  collection: string;
  modes: EvalMode[];
  split: string;
  progress: boolean;
  output?: string;
  /**
   * Fused chunks `hybrid-rerank` hands the re-ranking stage (RERANK_MAX_DOCUMENTS, what a cross-encoder
   * is given on the query path); the rest keep their fused order after them.
   */
  rerankDocuments: number;
}

export interface ModeResult {
  mode: EvalMode;
  queries: number;
  /**
   * Queries whose search answered without one of its legs (`degraded` in the response, e.g. the dense
   * leg when the embedder failed): their figures are not the mode's, so they are counted, not ignored.
   */
  degraded: number;
  /** How often each leg was missing, by the name the search reported. */
  degradedLegs: Record<string, number>;
  metrics: QueryMetrics;
  latencyMs: { p50: number; p95: number };
  perQuery: Record<string, QueryMetrics & { query: string; ranked: string[]; degraded?: string[] }>;
}

/** The JSON `--output` writes, and `--compare` reads back. */
export interface EvalReportFile {
  format: 'ragnest-eval';
  /** The directory as given; `datasetName` is what comparisons match on. */
  dataset: string;
  datasetName: string;
  split: string;
  subset: { docs: number | null; queries: number | null };
  corpusDocuments: number;
  collection: string;
  rerankDocuments: number;
  createdAt: string;
  results: ModeResult[];
}

/** Chunks asked for per query: enough that ~100 distinct documents remain for Recall@100. */
const CHUNK_DEPTH = 300;

export async function readQrels(file: string): Promise<Qrels> {
  const qrels: Qrels = new Map();
  const lines = (await readFile(file, 'utf8')).split('\n').slice(1);
  for (const line of lines) {
    const [qid, docId, score] = line.trim().split('\t');
    if (!qid || !docId) continue;
    if (!qrels.has(qid)) qrels.set(qid, new Map());
    qrels.get(qid)!.set(docId, Number(score));
  }
  return qrels;
}

export async function readQueries(file: string): Promise<Map<string, string>> {
  const queries = new Map<string, string>();
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    const q = JSON.parse(line) as { _id: string; text: string };
    queries.set(String(q._id), q.text);
  }
  return queries;
}

/**
 * Ingests a BEIR data set (or the subset the options name) when the collection does not hold it yet,
 * then scores each mode.
 */
export async function evaluate(
  ingestion: IngestionPort,
  retrieval: RetrievalPort,
  options: EvalOptions,
): Promise<ModeResult[]> {
  const splitQrels = await readQrels(join(options.dir, 'qrels', `${options.split}.tsv`));
  const corpus = subsetCorpus(
    await readDocuments(join(options.dir, 'corpus.jsonl')),
    splitQrels,
    options.docs,
  );
  const qrels = subsetQrels(splitQrels, options.queries);
  await ensureIngested(ingestion, options, corpus);
  const queries = await readQueries(join(options.dir, 'queries.jsonl'));
  const results: ModeResult[] = [];
  for (const mode of options.modes) {
    const perQuery: ModeResult['perQuery'] = {};
    const latencies: number[] = [];
    const degradedLegs: Record<string, number> = {};
    let degraded = 0;
    for (const [qid, relevant] of qrels) {
      const text = queries.get(qid);
      if (!text) continue;
      const t = performance.now();
      const { hits, degraded: legs } = await rankedChunks(retrieval, options, mode, text);
      latencies.push(performance.now() - t);
      const ranked = documentRanking(hits).slice(0, 100);
      perQuery[qid] = {
        query: text,
        ...queryMetrics(ranked, relevant),
        ranked,
        ...(legs.length > 0 ? { degraded: legs } : {}),
      };
      if (legs.length > 0) degraded += 1;
      for (const leg of legs) degradedLegs[leg] = (degradedLegs[leg] ?? 0) + 1;
    }
    latencies.sort((a, b) => a - b);
    results.push({
      mode,
      queries: latencies.length,
      degraded,
      degradedLegs,
      metrics: meanMetrics(Object.values(perQuery)),
      latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
      perQuery,
    });
  }
  if (options.output) {
    const report: EvalReportFile = {
      format: 'ragnest-eval',
      dataset: options.dir,
      datasetName: datasetName(options.dir),
      split: options.split,
      subset: { docs: options.docs ?? null, queries: options.queries ?? null },
      corpusDocuments: corpus.length,
      collection: options.collection,
      rerankDocuments: options.rerankDocuments,
      createdAt: new Date().toISOString(),
      results,
    };
    await writeFile(options.output, JSON.stringify(report, null, 2));
  }
  return results;
}

/**
 * Ingests the corpus unless the collection holds it already. A collection holding more documents than
 * the corpus holds other data too (e.g. the whole data set, when a subset is asked for), which would
 * change the figures without saying so: that is refused.
 */
async function ensureIngested(
  ingestion: IngestionPort,
  options: EvalOptions,
  corpus: IngestItem[],
): Promise<void> {
  const size = corpus.length;
  const existing = await ingestion.getCollection({ collection: options.collection }).catch(() => null);
  const held = existing ? Object.values(existing.documents).reduce((s, n) => s + n, 0) : 0;
  if (held > size)
    throw new InputError(
      `collection "${options.collection}" holds ${held} documents, more than the ${size} evaluated: ` +
        'its other documents would change the figures; use another --collection',
    );
  if (existing && existing.documents.indexed + existing.documents.failed >= size) return;
  const summary = await ingestDocuments(ingestion, options.collection, corpus, {
    progress: options.progress,
  });
  process.stderr.write(
    `ingested ${summary.indexed} documents (${summary.unchanged} unchanged, ${summary.failed.length} failed` +
      `${summary.stalled > 0 ? `, up to ${summary.stalled} stalled then repaired` : ''}) in ${summary.seconds.toFixed(1)} s\n`,
  );
}

/** One query's chunks, best first, as `mode` ranks them, and the legs its search answered without. */
async function rankedChunks(
  retrieval: RetrievalPort,
  options: EvalOptions,
  mode: EvalMode,
  query: string,
): Promise<{ hits: SearchHit[]; degraded: string[] }> {
  const search = (searchMode: SearchMode) =>
    retrieval.search({ collection: options.collection, query, topK: CHUNK_DEPTH, mode: searchMode });
  if (mode !== 'hybrid-rerank') {
    const response = await search(mode);
    return { hits: response.results, degraded: response.degraded ?? [] };
  }
  const { results: fused, degraded = [] } = await search('hybrid');
  const head = fused.slice(0, options.rerankDocuments);
  if (head.length === 0) return { hits: fused, degraded };
  // Every chunk sent comes back ranked (topK = all of them): the re-ranker orders, the cut is ours. A
  // failed re-ranking throws here (the port has no fallback), so it cannot pass for a ranking.
  const { results: reranked } = await retrieval.rerank({ query, topK: head.length, hits: head });
  return { hits: withRerankedHead(fused, reranked), degraded };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 100) / 100;
}

export function formatResults(results: ModeResult[]): string {
  // As wide as the longest mode shown, so the usual table keeps its usual layout.
  const width = Math.max(4, ...results.map((r) => r.mode.length));
  const rows = results.map(
    (r) =>
      `| ${r.mode.padEnd(width)} | ${r.metrics.ndcg10.toFixed(4)} | ${r.metrics.recall10.toFixed(4)} | ${r.metrics.recall100.toFixed(4)} | ${r.metrics.mrr10.toFixed(4)} | ${r.latencyMs.p50.toFixed(1).padStart(6)} | ${String(r.queries).padStart(7)} | ${String(r.degraded ?? 0).padStart(8)} |`,
  );
  const degraded = results.filter((r) => (r.degraded ?? 0) > 0);
  return [
    `| ${'mode'.padEnd(width)} | nDCG@10 | Recall@10 | Recall@100 | MRR@10 | p50 ms | queries | degraded |`,
    `|${'-'.repeat(width + 2)}|---------|-----------|------------|--------|--------|---------|----------|`,
    ...rows,
    // A degraded query was answered without one of its legs: the mode's figure is not the mode's own.
    ...degraded.map(
      (r) =>
        `WARNING: ${r.mode}: ${r.degraded} of ${r.queries} queries came back degraded (` +
        `${Object.entries(r.degradedLegs ?? {})
          .map(([leg, n]) => `${leg} missing ${n}×`)
          .join(', ')}); its figures are not those of ${r.mode}.`,
    ),
  ].join('\n');
}
