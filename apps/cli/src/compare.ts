import { basename } from 'node:path';
import { InputError } from './load-documents.js';
import type { QueryMetrics } from '#ranking-metrics';

/**
 * `ragnest eval --compare a.json b.json`: two eval outputs of the same queries, mode by mode. Whether a
 * difference in mean nDCG@10 is more than noise is judged by a paired randomization test: under the
 * null hypothesis that a and b are interchangeable, each query's difference is as likely to have either
 * sign, so the share of random sign flips whose mean difference is at least as large as the observed one
 * is the (two-sided) p-value.
 */

export const METRICS: readonly { key: keyof QueryMetrics; label: string }[] = [
  { key: 'ndcg10', label: 'nDCG@10' },
  { key: 'recall10', label: 'Recall@10' },
  { key: 'recall100', label: 'Recall@100' },
  { key: 'mrr10', label: 'MRR@10' },
];

/** Two nDCG@10 figures closer than this are the same (floating-point noise, not a change). */
const SAME = 1e-9;

export interface ReportQuery extends QueryMetrics {
  query?: string;
}

/** What `compare` needs of an eval output, however old the file. */
export interface EvalReport {
  file: string;
  datasetName: string;
  split: string;
  subset: { docs: number | null; queries: number | null };
  /** Absent in files written before subsets existed. */
  corpusDocuments?: number;
  modes: Map<string, Map<string, ReportQuery>>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a parsed eval output. Files from before the `format` marker (dataset, split, results) are
 * accepted as whole-data-set runs, since their shape is otherwise the same.
 */
export function parseEvalReport(json: unknown, file: string): EvalReport {
  const refuse = (why: string) =>
    new InputError(
      `${file} is not a ragnest eval output (${why}); one is written by: ragnest eval <beir-dir> --output <file>`,
    );
  if (!isObject(json)) throw refuse('not a JSON object');
  if (json.format !== undefined && json.format !== 'ragnest-eval')
    throw refuse(`format is ${JSON.stringify(json.format)}`);
  if (typeof json.split !== 'string') throw refuse('no "split"');
  if (typeof json.dataset !== 'string') throw refuse('no "dataset"');
  if (!Array.isArray(json.results)) throw refuse('no "results" list');
  const modes = new Map<string, Map<string, ReportQuery>>();
  for (const [i, r] of json.results.entries()) {
    if (!isObject(r) || typeof r.mode !== 'string' || !isObject(r.perQuery))
      throw refuse(`results[${i}] has no "mode" and "perQuery"`);
    const queries = new Map<string, ReportQuery>();
    for (const [qid, q] of Object.entries(r.perQuery)) {
      if (!isObject(q) || METRICS.some(({ key }) => typeof q[key] !== 'number'))
        throw refuse(`results[${i}].perQuery["${qid}"] lacks a metric`);
      queries.set(qid, {
        ndcg10: q.ndcg10 as number,
        recall10: q.recall10 as number,
        recall100: q.recall100 as number,
        mrr10: q.mrr10 as number,
        ...(typeof q.query === 'string' ? { query: q.query } : {}),
      });
    }
    modes.set(r.mode, queries);
  }
  const subset = isObject(json.subset) ? json.subset : {};
  const count = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    file,
    datasetName: typeof json.datasetName === 'string' ? json.datasetName : datasetName(json.dataset),
    split: json.split,
    subset: { docs: count(subset.docs), queries: count(subset.queries) },
    ...(typeof json.corpusDocuments === 'number' ? { corpusDocuments: json.corpusDocuments } : {}),
    modes,
  };
}

/** A data set is known by its directory's name: the same data may sit at different paths. */
export function datasetName(dir: string): string {
  return basename(dir.replace(/[/\\]+$/, ''));
}

/** Refuses two reports that did not score the same queries on the same documents, saying what differs. */
export function assertComparable(a: EvalReport, b: EvalReport): void {
  const differences: string[] = [];
  const differ = (what: string, x: unknown, y: unknown) => {
    if (x !== y) differences.push(`${what}: ${String(x)} in ${a.file}, ${String(y)} in ${b.file}`);
  };
  const all = (n: number | null) => (n === null ? 'all' : n);
  differ('data set', a.datasetName, b.datasetName);
  differ('split', a.split, b.split);
  differ('--docs', all(a.subset.docs), all(b.subset.docs));
  differ('--queries', all(a.subset.queries), all(b.subset.queries));
  if (a.corpusDocuments !== undefined && b.corpusDocuments !== undefined)
    differ('corpus documents', a.corpusDocuments, b.corpusDocuments);
  if (differences.length > 0)
    throw new InputError(`cannot compare runs on different data:\n  ${differences.join('\n  ')}`);
  if (!commonModes(a, b).length)
    throw new InputError(
      `no mode in both files (${[...a.modes.keys()].join(', ')} in ${a.file}; ${[...b.modes.keys()].join(', ')} in ${b.file})`,
    );
}

export function commonModes(a: EvalReport, b: EvalReport): string[] {
  return [...a.modes.keys()].filter((m) => b.modes.has(m));
}

/** Mulberry32: a small seeded generator, so that a p-value is the same on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Two-sided paired randomization test on per-query differences (b − a): the share of `permutations`
 * random sign assignments whose |mean| reaches the observed |mean|, counting the observed assignment
 * itself so that p is never 0.
 */
export function pairedRandomizationTest(
  differences: readonly number[],
  permutations: number,
  seed: number,
): number {
  const n = differences.length;
  if (n === 0) return 1;
  const observed = Math.abs(differences.reduce((s, d) => s + d, 0));
  const random = seededRandom(seed);
  let atLeast = 0;
  for (let p = 0; p < permutations; p++) {
    let sum = 0;
    for (const d of differences) sum += random() < 0.5 ? -d : d;
    // Sums of the same magnitudes in another order may differ in the last bits.
    if (Math.abs(sum) >= observed - 1e-12) atLeast++;
  }
  return (atLeast + 1) / (permutations + 1);
}

export interface QueryChange {
  id: string;
  query?: string;
  a: number;
  b: number;
  change: number;
}

export interface ModeComparison {
  mode: string;
  /** Queries scored in both files; the means and the test are over these. */
  paired: number;
  onlyInA: number;
  onlyInB: number;
  means: Record<keyof QueryMetrics, { a: number; b: number; change: number }>;
  ndcg10: { improved: number; worsened: number; same: number; pValue: number };
  largestGains: QueryChange[];
  largestLosses: QueryChange[];
}

export interface CompareOptions {
  permutations: number;
  seed: number;
  /** How many queries to list in each direction. */
  top: number;
}

export const DEFAULT_COMPARE: CompareOptions = { permutations: 10_000, seed: 20_240_601, top: 10 };

export function compareReports(a: EvalReport, b: EvalReport, options = DEFAULT_COMPARE): ModeComparison[] {
  assertComparable(a, b);
  return commonModes(a, b).map((mode) => compareMode(mode, a.modes.get(mode)!, b.modes.get(mode)!, options));
}

export function compareMode(
  mode: string,
  a: ReadonlyMap<string, ReportQuery>,
  b: ReadonlyMap<string, ReportQuery>,
  options: CompareOptions,
): ModeComparison {
  const ids = [...a.keys()].filter((id) => b.has(id));
  const mean = (m: ReadonlyMap<string, ReportQuery>, key: keyof QueryMetrics) =>
    ids.length === 0 ? 0 : ids.reduce((s, id) => s + m.get(id)![key], 0) / ids.length;
  const means = Object.fromEntries(
    METRICS.map(({ key }) => {
      const [x, y] = [mean(a, key), mean(b, key)];
      return [key, { a: x, b: y, change: y - x }];
    }),
  ) as ModeComparison['means'];
  const changes: QueryChange[] = ids.map((id) => {
    const [x, y] = [a.get(id)!, b.get(id)!];
    const query = y.query ?? x.query;
    return {
      id,
      ...(query !== undefined ? { query } : {}),
      a: x.ndcg10,
      b: y.ndcg10,
      change: y.ndcg10 - x.ndcg10,
    };
  });
  const improved = changes.filter((c) => c.change > SAME);
  const worsened = changes.filter((c) => c.change < -SAME);
  // Ties broken by query id, so the lists do not depend on the files' key order.
  const byId = (x: QueryChange, y: QueryChange) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  return {
    mode,
    paired: ids.length,
    onlyInA: a.size - ids.length,
    onlyInB: b.size - ids.length,
    means,
    ndcg10: {
      improved: improved.length,
      worsened: worsened.length,
      same: changes.length - improved.length - worsened.length,
      pValue: pairedRandomizationTest(
        changes.map((c) => c.change),
        options.permutations,
        options.seed,
      ),
    },
    largestGains: [...improved].sort((x, y) => y.change - x.change || byId(x, y)).slice(0, options.top),
    largestLosses: [...worsened].sort((x, y) => x.change - y.change || byId(x, y)).slice(0, options.top),
  };
}

const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(4)}`;

export function formatComparison(
  a: EvalReport,
  b: EvalReport,
  comparisons: readonly ModeComparison[],
  options = DEFAULT_COMPARE,
): string {
  const subset = [
    a.subset.docs === null ? 'all documents' : `judged documents + ${a.subset.docs}`,
    a.subset.queries === null ? 'all queries' : `first ${a.subset.queries} queries`,
  ].join(', ');
  const lines = [`${a.datasetName}, split ${a.split} (${subset})`, `a = ${a.file}`, `b = ${b.file}`];
  for (const c of comparisons) {
    lines.push('', `## ${c.mode}: ${c.paired} queries in both`);
    if (c.onlyInA || c.onlyInB)
      lines.push(`(left out: ${c.onlyInA} queries only in a, ${c.onlyInB} only in b)`);
    lines.push('| metric     |      a |      b |   b − a |', '|------------|--------|--------|---------|');
    for (const { key, label } of METRICS) {
      const m = c.means[key];
      lines.push(`| ${label.padEnd(10)} | ${m.a.toFixed(4)} | ${m.b.toFixed(4)} | ${signed(m.change)} |`);
    }
    const n = c.ndcg10;
    lines.push(
      `nDCG@10 per query: ${n.improved} improved, ${n.worsened} worsened, ${n.same} the same; ` +
        `paired randomization test p = ${n.pValue.toFixed(4)} (${options.permutations} permutations, seed ${options.seed})`,
    );
    const list = (title: string, changes: QueryChange[]) => {
      if (changes.length === 0) return;
      lines.push(`${title}:`);
      for (const q of changes)
        lines.push(
          `  ${signed(q.change)}  ${q.id.padEnd(8)} ${q.a.toFixed(4)} → ${q.b.toFixed(4)}${q.query ? `  ${truncate(q.query, 100)}` : ''}`,
        );
    };
    list(`largest nDCG@10 gains (b over a)`, c.largestGains);
    list(`largest nDCG@10 losses (b under a)`, c.largestLosses);
  }
  return lines.join('\n');
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
