// Section 5 of docs/benchmarks.md: the single binary on PGlite, against PostgreSQL and while it ingests.

import { fmt, RATIO_MAX_ERROR_RATE, spread } from '../lib.mjs';
import {
  across,
  cell,
  concurrencies,
  findRow,
  latencyCell,
  MODES,
  row,
  runsNote,
  table,
  worstErrorRate,
} from './cells.mjs';

export function pgliteSection(report) {
  return `${pgliteComparison(report)}\n\n${pgliteResponsiveness(report)}`;
}

/** The single binary on PGlite while it ingests SciFact: does it keep answering (issue 20)? */
function pgliteResponsiveness(report) {
  const lines = ['### Responsiveness during an ingest', ''];
  if (!report.pgliteResponsiveness?.length) {
    lines.push('Not run (scenario `pglite-responsiveness`, or no SciFact data set).');
    return lines.join('\n');
  }
  const runs = report.pgliteResponsiveness;
  lines.push(
    `\`ragnest serve\` on PGlite (in its worker thread) while the SciFact corpus (${runs[0].documents} documents) is POSTed in batches of 500; ` +
      `\`/health/live\` every ${runs[0].live.everyMs} ms and a hybrid \`/rag/search\` every ${runs[0].search.everyMs} ms, one at a time, until every document is indexed ` +
      `(scripts/bench/pglite-responsiveness.mjs); ${runsNote(runs.length)}. Targets: live p99 < ${runs[0].targets.liveP99Ms} ms, search p99 < ${runs[0].targets.searchP99Ms} ms, RSS < ${runs[0].targets.rssMiB} MiB.`,
    '',
    table(
      ['figure', 'value'],
      ['l', 'r'],
      [
        row([
          '`/health/live` p50 / p99 ms',
          `${cell(runs.map((r) => r.live.p50))} / ${cell(runs.map((r) => r.live.p99))}`,
        ]),
        row([
          '`/rag/search` p50 / p99 ms',
          `${cell(runs.map((r) => r.search.p50))} / ${cell(runs.map((r) => r.search.p99))}`,
        ]),
        row([
          'failed probes',
          cell(
            runs.map((r) => r.live.failed + r.search.failed),
            0,
          ),
        ]),
        row(['ingest s', cell(runs.map((r) => r.ingestion.seconds))]),
        row([
          'RSS after start / right after the ingest / 30 s later MiB',
          [
            runs.map((r) => r.memoryMiB.afterStart.rss),
            runs.map((r) => r.memoryMiB.afterIngest.rss),
            // Runs recorded before the afternoon of 2026-12-07 did not wait for the merges after the ingest.
            runs.map((r) => r.memoryMiB.settled?.rss ?? NaN),
          ]
            .map((values) => cell(values, 0))
            .join(' / '),
        ]),
        row([
          'peak RSS MiB, the merges after the ingest included',
          cell(
            runs.map((r) => r.memoryMiB.settled?.peak ?? NaN),
            0,
          ),
        ]),
      ],
    ),
  );
  return lines.join('\n');
}

function pgliteComparison(report) {
  const lines = ['## 5. Embedded PGlite against PostgreSQL', ''];
  const scales = report.scales.filter((s) => s.pglite?.length && s.postgres?.length);
  const skipped = report.scales.filter((s) => !s.pglite?.length).map((s) => s.scale);
  if (scales.length === 0)
    lines.push('Not run (scenario `pglite`, or no scale of `--pglite-scales` was run).');
  else {
    lines.push(
      'The monolith on embedded PGlite (one WASM session, in a worker thread of the server process) and on PostgreSQL, same corpus, same requests. Latencies in ms. ' +
        'What still differs: PostgreSQL builds its HNSW index at every scale and its ingestion time includes the build, while PGlite keeps its own default ' +
        '(no build below 50,000 chunks: a build holds its one session for the whole statement), so its dense search is the index named in each heading ' +
        'and its requests start when the documents are indexed.',
    );
    for (const s of scales) {
      const pgRuns = s.postgres;
      const liteRuns = s.pglite;
      const out = [
        row([
          'ingestion chunks/s (API, monolith)',
          cell(
            pgRuns.map((r) => r.ingestion.chunksPerSecond),
            0,
          ),
          cell(
            liteRuns.map((r) => r.ingestion.chunksPerSecond),
            0,
          ),
          fmt(
            spread(liteRuns.map((r) => r.ingestion.chunksPerSecond)).median /
              spread(pgRuns.map((r) => r.ingestion.chunksPerSecond)).median,
            2,
          ) + '×',
        ]),
      ];
      const kinds = [...MODES.map((m) => ['/rag/search', m]), ['/rag/query', 'hybrid']];
      for (const [endpoint, mode] of kinds) {
        for (const c of concurrencies(report)) {
          if (!findRow(liteRuns[0].requests, endpoint, mode, c)) continue;
          for (const [field, label, d] of [
            ['p50Ms', 'p50', 1],
            ['requestsPerSecond', 'req/s', 0],
          ]) {
            const a = across(pgRuns, (r) => r.requests, endpoint, mode, c, field);
            const b = across(liteRuns, (r) => r.requests, endpoint, mode, c, field);
            const failedA = worstErrorRate(pgRuns, (r) => r.requests, endpoint, mode, c) || 0;
            const failedB = worstErrorRate(liteRuns, (r) => r.requests, endpoint, mode, c) || 0;
            const latency = field !== 'requestsPerSecond';
            out.push(
              row([
                `${endpoint} ${mode} c=${c} ${label}`,
                latency ? latencyCell(pgRuns, (r) => r.requests, endpoint, mode, c, field) : cell(a, d),
                latency ? latencyCell(liteRuns, (r) => r.requests, endpoint, mode, c, field) : cell(b, d),
                failedA > RATIO_MAX_ERROR_RATE || failedB > RATIO_MAX_ERROR_RATE
                  ? `– (over ${fmt(100 * RATIO_MAX_ERROR_RATE)} % failed)`
                  : `${fmt(spread(b).median / spread(a).median, 2)}×`,
              ]),
            );
          }
        }
      }
      const rss = (runs) => runs.map((r) => r.memory[0].after);
      out.push(
        row([
          'server RSS after requests, MiB',
          cell(rss(pgRuns), 0),
          cell(rss(liteRuns), 0),
          `${fmt(spread(rss(liteRuns)).median / spread(rss(pgRuns)).median, 2)}×`,
        ]),
      );
      lines.push(
        '',
        `### ${s.scale} (PostgreSQL ${runsNote(pgRuns.length)}, PGlite ${runsNote(liteRuns.length)}; PGlite's dense search: ${liteRuns[0].ingestion.embedding.index})`,
        '',
        table(['figure', 'PostgreSQL', 'PGlite', 'PGlite / PostgreSQL'], ['l', 'r', 'r', 'r'], out),
      );
    }
  }
  if (skipped.length > 0 && report.options.scenarios.includes('pglite'))
    lines.push(
      '',
      `PGlite was not run at ${skipped.join(', ')}: it runs at the scales of \`--pglite-scales\` only (${report.options.pgliteScales.join(', ')} by default ` +
        'in this run), since one embedded session ingesting and searching 100k chunks takes far longer than the rest of the benchmark.',
    );
  return lines.join('\n');
}
