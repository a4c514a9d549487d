#!/usr/bin/env node
// docs/benchmarks.md from the JSON that run.mjs writes: renderReport(report, jsonLink) → Markdown, where
// jsonLink is the JSON's path relative to the document. Standalone, it renders a saved run again:
// node scripts/bench/report.mjs docs/benchmarks.json [--out docs/benchmarks.md]
// The sections are rendered by the modules under report/, one per section.

import { readFile, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isMain, REPO_ROOT } from './lib.mjs';
import { renderObservability } from './observability.mjs';
import { distributedSection } from './report/distributed.mjs';
import { header } from './report/header.mjs';
import { ingestionSection } from './report/ingestion.mjs';
import { pgliteSection } from './report/pglite.mjs';
import { scaleSection } from './report/scale.mjs';
import { querySection, searchSection } from './report/search.mjs';
import { targets } from './report/targets.mjs';

/** The whole document. */
export function renderReport(report, jsonPath) {
  return `${[
    header(report, jsonPath),
    targets(report),
    ingestionSection(report),
    searchSection(report),
    querySection(report),
    distributedSection(report),
    pgliteSection(report),
    scaleSection(report),
    ...(report.observability ? [renderObservability(report.observability)] : []),
  ].join('\n\n')}\n`;
}

/**
 * Adds the scales of another run's JSON to `report` (replacing a scale both have), each marked with how
 * it was measured: for a scale too long to run with the others, such as 1m.
 */
export function mergeScales(report, other) {
  const measuredBy = {
    command: other.environment.command,
    startedAt: other.startedAt,
    finishedAt: other.finishedAt,
    runs: other.options.runs,
    queries: other.corpus.queries,
    scenarios: other.options.scenarios,
    serverEnv: other.serverEnv,
    loadAverageAtStart: other.environment.loadAverageAtStart,
    loadAverageAtEnd: other.environment.loadAverageAtEnd,
  };
  const added = other.scales.map((s) => ({ ...s, measuredBy }));
  const names = new Set(added.map((s) => s.scale));
  const order = (s) => Number(s.documents);
  return {
    ...report,
    scales: [...report.scales.filter((s) => !names.has(s.scale)), ...added].sort(
      (a, b) => order(a) - order(b),
    ),
  };
}

async function main() {
  const { values, positionals } = parseArgs({
    options: {
      out: { type: 'string', default: 'docs/benchmarks.md' },
      add: { type: 'string', multiple: true, default: [] },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1)
    throw new Error(
      'usage: node scripts/bench/report.mjs <docs/benchmarks.json or bench-results/bench-….json> [--add other.json] [--out file]',
    );
  const file = resolve(positionals[0]);
  let report = JSON.parse(await readFile(file, 'utf8'));
  // --add writes the merged figures back to the JSON the document links to.
  for (const other of values.add)
    report = mergeScales(report, JSON.parse(await readFile(resolve(other), 'utf8')));
  if (values.add.length > 0) await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  const out = resolve(REPO_ROOT, values.out);
  await writeFile(out, renderReport(report, relative(dirname(out), file)));
}

if (isMain(import.meta.url)) {
  main().catch((error) => {
    console.error(error.stack ?? error.message);
    process.exitCode = 1;
  });
}
