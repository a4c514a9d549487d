import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestionPort, RetrievalPort, SearchMode } from '#contracts';
import { ingestDocuments } from './ingest-files.js';
import { readDocuments } from './load-documents.js';
import { documentRanking, meanMetrics, queryMetrics, type Qrels, type QueryMetrics } from './metrics.js';

export interface EvalOptions {
  dir: string;
  collection: string;
  modes: SearchMode[];
  split: string;
  progress: boolean;
  output?: string;
}

export interface ModeResult {
  mode: SearchMode;
  queries: number;
  metrics: QueryMetrics;
  latencyMs: { p50: number; p95: number };
  perQuery: Record<string, QueryMetrics & { ranked: string[] }>;
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

/** Ingests a BEIR data set when the collection does not hold it yet, then scores each mode. */
export async function evaluate(
  ingestion: IngestionPort,
  retrieval: RetrievalPort,
  options: EvalOptions,
): Promise<ModeResult[]> {
  const corpus = await readDocuments(join(options.dir, 'corpus.jsonl'));
  const existing = await ingestion.getCollection({ collection: options.collection }).catch(() => null);
  if (!existing || existing.documents.indexed + existing.documents.failed < corpus.length) {
    const summary = await ingestDocuments(ingestion, options.collection, corpus, {
      progress: options.progress,
    });
    process.stderr.write(
      `ingested ${summary.indexed} documents (${summary.unchanged} unchanged, ${summary.failed.length} failed) in ${summary.seconds.toFixed(1)} s\n`,
    );
  }
  const qrels = await readQrels(join(options.dir, 'qrels', `${options.split}.tsv`));
  const queries = await readQueries(join(options.dir, 'queries.jsonl'));
  const results: ModeResult[] = [];
  for (const mode of options.modes) {
    const perQuery: ModeResult['perQuery'] = {};
    const latencies: number[] = [];
    for (const [qid, relevant] of qrels) {
      const text = queries.get(qid);
      if (!text) continue;
      const t = performance.now();
      const { results: hits } = await retrieval.search({
        collection: options.collection,
        query: text,
        topK: CHUNK_DEPTH,
        mode,
      });
      latencies.push(performance.now() - t);
      const ranked = documentRanking(hits).slice(0, 100);
      perQuery[qid] = { ...queryMetrics(ranked, relevant), ranked };
    }
    latencies.sort((a, b) => a - b);
    results.push({
      mode,
      queries: latencies.length,
      metrics: meanMetrics(Object.values(perQuery)),
      latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
      perQuery,
    });
  }
  if (options.output)
    await writeFile(
      options.output,
      JSON.stringify({ dataset: options.dir, split: options.split, results }, null, 2),
    );
  return results;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 100) / 100;
}

export function formatResults(results: ModeResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.mode.padEnd(6)} | ${r.metrics.ndcg10.toFixed(4)} | ${r.metrics.recall10.toFixed(4)} | ${r.metrics.recall100.toFixed(4)} | ${r.metrics.mrr10.toFixed(4)} | ${r.latencyMs.p50.toFixed(1).padStart(6)} | ${String(r.queries).padStart(7)} |`,
  );
  return [
    '| mode   | nDCG@10 | Recall@10 | Recall@100 | MRR@10 | p50 ms | queries |',
    '|--------|---------|-----------|------------|--------|--------|---------|',
    ...rows,
  ].join('\n');
}
