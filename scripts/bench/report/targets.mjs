// The targets table of docs/benchmarks.md: each target, the worst cell over scales and modes, met or missed.

import { fmt, RATIO_MAX_ERROR_RATE, spread } from '../lib.mjs';
import {
  across,
  cell,
  concurrencies,
  findRow,
  median,
  MODES,
  ratioAcross,
  row,
  table,
  worstErrorRate,
} from './cells.mjs';
import { hnswBuildRatio } from './ingestion.mjs';

/** The hand-written notes beside the generated document: what profiles showed, by people, not data. */
const NOTES = 'benchmarks-notes.md';

function maxRss(memory, field = 'after') {
  return !memory?.length ? NaN : Math.max(...memory.map((m) => m[field]));
}

/** met, or missed by how much: `kind` is 'max' (at most), 'below' (under) or 'min' (at least). */
function meets(value, limit, kind) {
  return kind === 'max' ? value <= limit : kind === 'below' ? value < limit : value >= limit;
}

function verdict(value, limit, kind, digits = 0, unit = '') {
  if (!Number.isFinite(value)) return 'not measured';
  if (meets(value, limit, kind)) return '**met**';
  const by = kind === 'min' ? limit / value : value / limit;
  const words = { max: 'at most', below: 'under', min: 'at least' }[kind];
  return `**missed** by ${fmt(by, 2)}× (${fmt(value, digits)}${unit} against ${words} ${fmt(limit, digits)}${unit})`;
}

const searchKinds = [...MODES.map((m) => ['/rag/search', m]), ['/rag/query', 'hybrid']];

/**
 * The targets, each with every cell (scale × mode × concurrency, or scale × deployment) it covers: a
 * cell's value is the median over the runs, and `failed` the largest share of failed requests among
 * its rows (a cell above RATIO_MAX_ERROR_RATE has no ratio and counts as missed).
 */
const TARGETS = [
  {
    name: '/rag/search p50 / the SQL floor p50 (every mode)',
    limit: 1.5,
    kind: 'max',
    digits: 2,
    unit: '×',
    cells: (report) => floorRatioCells(report, MODES),
  },
  {
    name: 'sparse (BM25) /rag/search p50 / the SQL floor p50',
    limit: 1.3,
    kind: 'max',
    digits: 2,
    unit: '×',
    cells: (report) => floorRatioCells(report, ['sparse']),
  },
  {
    name: 'lexical index (blocks and segments, with their indexes) / the chunks table',
    limit: 0.5,
    kind: 'max',
    digits: 2,
    unit: '×',
    cells: (report) =>
      report.scales
        .filter((s) => (s.postgres ?? []).some((r) => r.sizes))
        .map((s) => ({
          where: s.scale,
          values: s.postgres
            .filter((r) => r.sizes)
            .map((r) => lexicalBytes(r.sizes) / tableBytes(r.sizes, 'chunks')),
          failed: 0,
        })),
  },
  {
    name: 'monolith ingestion through the API until searchable, HNSW build included (chunks/s; 1,500 at 10k, 1,200 above)',
    limit: 1,
    kind: 'min',
    digits: 2,
    unit: '× its scale’s target',
    cells: (report) =>
      report.scales
        .filter((s) => (s.postgres ?? []).some((r) => r.ingestion?.chunksPerSecond))
        .map((s) => ({
          where: `${s.scale} (${fmt(median(s.postgres.map((r) => r.ingestion.chunksPerSecond)), 0)} chunks/s)`,
          values: s.postgres.map(
            (r) => r.ingestion.chunksPerSecond / (s.scale === '10k' || s.scale === '2k' ? 1500 : 1200),
          ),
          failed: 0,
        })),
  },
  {
    name: "ragnest's HNSW build after a bulk load / pgvector's bare CREATE INDEX on the same vectors",
    limit: 1.1,
    kind: 'max',
    digits: 2,
    unit: '×',
    cells: (report) =>
      report.scales
        .filter((s) => (s.ingest ?? []).some((r) => r.ragnest[0]?.vectorIndexBuild))
        .map((s) => ({
          where: `${s.scale}, 1 ingestion process`,
          values: s.ingest.map((r) => hnswBuildRatio(r)),
          failed: 0,
        })),
  },
  {
    name: 'hybrid /rag/search requests/s at concurrency ≥ 8',
    limit: 300,
    kind: 'min',
    digits: 0,
    unit: ' req/s',
    cells: (report) =>
      report.scales.flatMap((s) =>
        concurrencies(report)
          .filter((c) => c >= 8 && s.postgres?.some((r) => findRow(r.requests, '/rag/search', 'hybrid', c)))
          .map((c) => ({
            where: `${s.scale}, hybrid, concurrency ${c}`,
            values: across(s.postgres, (r) => r.requests, '/rag/search', 'hybrid', c, 'requestsPerSecond'),
            failed: worstErrorRate(s.postgres, (r) => r.requests, '/rag/search', 'hybrid', c) || 0,
          })),
      ),
  },
  {
    name: 'distributed / monolith p50 (every endpoint and mode)',
    limit: 1.5,
    kind: 'max',
    digits: 2,
    unit: '×',
    cells: (report) =>
      report.scales.flatMap((s) => {
        const runs = (s.postgres ?? []).filter((r) => r.distributed);
        if (runs.length === 0) return [];
        return searchKinds.flatMap(([endpoint, mode]) =>
          concurrencies(report)
            .filter((c) => findRow(runs[0].requests, endpoint, mode, c))
            .map((c) => ({
              where: `${s.scale}, ${endpoint} ${mode}, concurrency ${c}`,
              values: ratioAcross(
                runs,
                (r) => r.distributed.requests,
                (r) => r.requests,
                endpoint,
                mode,
                c,
                'p50Ms',
              ),
              failed: Math.max(
                worstErrorRate(runs, (r) => r.distributed.requests, endpoint, mode, c) || 0,
                worstErrorRate(runs, (r) => r.requests, endpoint, mode, c) || 0,
              ),
            })),
        );
      }),
  },
  {
    name: 'RSS of every service after the request runs (MiB)',
    limit: 250,
    kind: 'below',
    digits: 0,
    unit: ' MiB',
    cells: (report) => memoryCells(report, 'after'),
  },
  {
    name: 'peak RSS of every service over the run (VmHWM, MiB)',
    limit: 250,
    kind: 'below',
    digits: 0,
    unit: ' MiB',
    cells: (report) => memoryCells(report, 'peak'),
  },
];

/** API p50 / SQL floor p50 of /rag/search, per scale, mode and concurrency. */
function floorRatioCells(report, modes) {
  return report.scales.flatMap((s) =>
    (s.postgres ?? []).some((r) => r.floor)
      ? modes.flatMap((mode) =>
          concurrencies(report).map((c) => ({
            where: `${s.scale}, ${mode}, concurrency ${c}`,
            values: ratioAcross(
              s.postgres,
              (r) => r.requests,
              (r) => r.floor,
              '/rag/search',
              mode,
              c,
              'p50Ms',
              'SQL floor',
            ),
            failed: Math.max(
              worstErrorRate(s.postgres, (r) => r.requests, '/rag/search', mode, c) || 0,
              worstErrorRate(s.postgres, (r) => r.floor, 'SQL floor', mode, c) || 0,
            ),
          })),
        )
      : [],
  );
}

/** Bytes of a table with its indexes and TOAST, from a run's sizes (0 when it was not measured). */
function tableBytes(sizes, name) {
  return sizes.tables.find((t) => t.table === name)?.total ?? 0;
}

/** The lexical index's bytes: its blocks, segments and changes (or, before them, its postings). */
export function lexicalBytes(sizes) {
  return ['lexical_blocks', 'lexical_segments', 'lexical_changes', 'chunk_terms'].reduce(
    (sum, t) => sum + tableBytes(sizes, t),
    0,
  );
}

function memoryCells(report, field) {
  return report.scales.flatMap((s) => {
    const runs = s.postgres ?? [];
    const groups = [
      ['monolith', (r) => r.memory],
      ['distributed (largest service)', (r) => r.distributed?.memory],
    ];
    return groups
      .filter(([, pick]) => runs.some((r) => pick(r)?.length))
      .map(([deployment, pick]) => ({
        where: `${s.scale}, ${deployment}`,
        values: runs.map((r) => maxRss(pick(r), field)),
        failed: 0,
      }));
  });
}

/** The worst cell of a target: a cell that could not be judged (failures) first, then the furthest value. */
function worstCell(target, cells) {
  const judged = cells.map((c) => ({ ...c, median: spread(c.values).median }));
  const unjudgeable = judged.filter((c) => !Number.isFinite(c.median) && c.failed > RATIO_MAX_ERROR_RATE);
  if (unjudgeable.length > 0) return unjudgeable.reduce((a, b) => (b.failed > a.failed ? b : a));
  const measured = judged.filter((c) => Number.isFinite(c.median));
  if (measured.length === 0) return undefined;
  const worse = (a, b) => (target.kind === 'min' ? b.median < a.median : b.median > a.median);
  return measured.reduce((a, b) => (worse(a, b) ? b : a));
}

/** Beside a cell that failed, the worst cell that has a figure. */
function worstMeasured(t, cells) {
  const measured = worstCell(
    t,
    cells.filter((c) => Number.isFinite(spread(c.values).median)),
  );
  return measured
    ? `; worst measured ${cell(measured.values, t.digits, t.unit.trim() === '×' ? '×' : '')} (${measured.where})`
    : '';
}

export function targets(report) {
  const lines = [
    '## Targets',
    '',
    'Each target is judged in every cell it covers (every scale, mode, concurrency or deployment measured), ' +
      'on the median over the runs; the figure shown is the worst cell. A cell where more than ' +
      `${fmt(100 * RATIO_MAX_ERROR_RATE)} % of the requests failed has no ratio and counts as missed.`,
    '',
  ];
  const rows = [];
  for (const t of TARGETS) {
    const cells = t.cells(report);
    const judged = cells.map((c) => ({ ...c, median: spread(c.values).median }));
    const missed = judged.filter(
      (c) =>
        c.failed > RATIO_MAX_ERROR_RATE || (Number.isFinite(c.median) && !meets(c.median, t.limit, t.kind)),
    );
    const worst = worstCell(t, cells);
    const limit = `${{ max: '≤', below: '<', min: '≥' }[t.kind]} ${fmt(t.limit, t.kind === 'max' ? 1 : 0)}${t.unit.trim() === '×' ? '×' : ''}`;
    if (!worst) {
      rows.push(row([t.name, 'not measured', '', limit, 'not measured']));
      continue;
    }
    const figure = Number.isFinite(worst.median)
      ? cell(worst.values, t.digits, t.unit.trim() === '×' ? '×' : '')
      : `– (${fmt(100 * worst.failed)} % of requests failed)`;
    const result =
      missed.length === 0
        ? `**met** in all ${judged.length} cells`
        : `**missed** in ${missed.length} of ${judged.length} cells` +
          (Number.isFinite(worst.median)
            ? `; worst ${verdict(worst.median, t.limit, t.kind, t.digits, t.unit).replace('**missed** ', '')}`
            : `; worst: requests failed${worstMeasured(t, cells)}`);
    rows.push(row([t.name, `${figure} (${worst.where})`, `${judged.length}`, limit, result]));
  }
  lines.push(
    table(
      ['target', 'worst cell: figure (where)', 'cells', 'limit', 'result'],
      ['l', 'l', 'r', 'r', 'l'],
      rows,
    ),
    '',
    `What the profiles of missed targets showed is written by hand in [${NOTES}](${NOTES}), not stored with the figures.`,
    'RSS after the runs is read from /proc after the request runs (steady state); the peak (VmHWM) over the whole run.',
  );
  return lines.join('\n');
}
