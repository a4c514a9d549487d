// The cells and tables of docs/benchmarks.md: a figure over runs as "median (min–max)", rows found by
// endpoint, mode and concurrency, ratios of two conditions of the same run.

import { comparableRatio, errorRate, fmt, RATIO_MAX_ERROR_RATE, spread } from '../lib.mjs';

export const MODES = ['sparse', 'dense', 'hybrid'];

/** "median (min–max)" of one figure over the runs; the range is left out when there is one run or none. */
export function cell(values, digits = 1, suffix = '') {
  const s = spread(values);
  if (s.n === 0) return '–';
  const median = `${fmt(s.median, digits)}${suffix}`;
  if (s.n === 1) return median;
  const lo = fmt(s.min, digits);
  const hi = fmt(s.max, digits);
  return lo === hi ? median : `${median} (${lo}–${hi})`;
}

export const mib = (bytes) => bytes / 1024 ** 2;
export const table = (head, align, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...rows,
  ].join('\n');
export const row = (cells) => `| ${cells.join(' | ')} |`;

export const findRow = (rows, endpoint, mode, concurrency) =>
  rows?.find((r) => r.endpoint === endpoint && r.mode === mode && r.concurrency === concurrency);

/** A field of the matching row in every run (NaN where a run lacks the row). */
export const across = (runs, pick, endpoint, mode, c, field) =>
  runs.map((r) => findRow(pick(r), endpoint, mode, c)?.[field] ?? NaN);

/**
 * Per run, a / b of the matching rows' `field`: ratios of the same run's conditions; NaN (left out) where
 * either side failed more than RATIO_MAX_ERROR_RATE of its requests.
 */
export const ratioAcross = (runs, pickA, pickB, endpoint, mode, c, field, endpointB = endpoint) =>
  runs.map((r) =>
    comparableRatio(findRow(pickA(r), endpoint, mode, c), findRow(pickB(r), endpointB, mode, c), field),
  );

/** The largest share of failed requests of the matching row over the runs (NaN where no run has it). */
export const worstErrorRate = (runs, pick, endpoint, mode, c) => {
  const rates = runs.map((r) => errorRate(findRow(pick(r), endpoint, mode, c))).filter(Number.isFinite);
  return rates.length === 0 ? NaN : Math.max(...rates);
};

/**
 * A latency cell: the figure, with the share of failed requests beside it where any failed. Runs written
 * before errorRate existed took percentiles over the successful requests only, and say so.
 */
export function latencyCell(runs, pick, endpoint, mode, c, field) {
  const text = cell(across(runs, pick, endpoint, mode, c, field), 1);
  const failed = Math.max(...runs.map((r) => errorRate(findRow(pick(r), endpoint, mode, c)) || 0), 0);
  if (failed === 0) return text;
  const overAll = runs.every((r) => findRow(pick(r), endpoint, mode, c)?.percentilesOver);
  return `${text} [${fmt(100 * failed, failed < 0.01 ? 1 : 0)} % failed${overAll ? '' : '; successes only'}]`;
}

/** A ratio cell, or why it is left out. */
export function ratioCell(values, failedA, failedB) {
  if (values.some(Number.isFinite)) return cell(values, 2, '×');
  if (failedA > RATIO_MAX_ERROR_RATE || failedB > RATIO_MAX_ERROR_RATE)
    return `– (over ${fmt(100 * RATIO_MAX_ERROR_RATE)} % failed)`;
  return '–';
}

export const concurrencies = (report) => report.options.concurrency;
export const runsNote = (n) => (n > 1 ? `median (min–max) of ${n} runs` : '1 run');

export function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
}
