// Sections 2 and 3 of docs/benchmarks.md: search by mode against the SQL floor, then /rag/query and
// time to first token.

import { fmt, RATIO_MAX_ERROR_RATE } from '../lib.mjs';
import {
  across,
  cell,
  concurrencies,
  findRow,
  latencyCell,
  MODES,
  ratioAcross,
  ratioCell,
  row,
  runsNote,
  table,
  worstErrorRate,
} from './cells.mjs';

export function searchSection(report) {
  const lines = ['## 2. Search', ''];
  const scales = report.scales.filter((s) => s.postgres?.some((r) => r.floor));
  if (scales.length === 0) return [...lines, 'Not run (scenario `search`).'].join('\n');
  lines.push(
    '`POST /rag/search` (topK 10) on the monolith (`ragnest serve`) on PostgreSQL, next to its floor: the same SQL ' +
      "sent straight to PostgreSQL from the benchmark through a pg Pool (ragnest's ChunkSearchRepository over the pool, " +
      "the handler's steps mirrored, query vectors made beforehand; scripts/bench/search-floor.mjs). Latencies in ms, " +
      'over all requests with a failed one counted at the time it failed, and the share that failed beside them ' +
      '(runs recorded before that was so say "successes only"); no ratio where either side failed more than ' +
      `${fmt(100 * RATIO_MAX_ERROR_RATE)} %.`,
  );
  for (const s of scales) {
    const runs = s.postgres;
    const out = [];
    for (const mode of MODES) {
      for (const c of concurrencies(report)) {
        const api = (f) =>
          f === 'requestsPerSecond'
            ? cell(
                across(runs, (r) => r.requests, '/rag/search', mode, c, f),
                0,
              )
            : latencyCell(runs, (r) => r.requests, '/rag/search', mode, c, f);
        const floor = (f) =>
          f === 'requestsPerSecond'
            ? cell(
                across(runs, (r) => r.floor, 'SQL floor', mode, c, f),
                0,
              )
            : latencyCell(runs, (r) => r.floor, 'SQL floor', mode, c, f);
        out.push(
          row([
            mode,
            c,
            api('p50Ms'),
            api('p95Ms'),
            api('p99Ms'),
            api('requestsPerSecond'),
            floor('p50Ms'),
            floor('p95Ms'),
            floor('p99Ms'),
            floor('requestsPerSecond'),
            ratioCell(
              ratioAcross(
                runs,
                (r) => r.requests,
                (r) => r.floor,
                '/rag/search',
                mode,
                c,
                'p50Ms',
                'SQL floor',
              ),
              worstErrorRate(runs, (r) => r.requests, '/rag/search', mode, c),
              worstErrorRate(runs, (r) => r.floor, 'SQL floor', mode, c),
            ),
          ]),
        );
      }
    }
    lines.push(
      '',
      `### ${s.scale}: ${fmt(runs[0].ingestion.chunks)} chunks (${runsNote(runs.length)})`,
      '',
      table(
        [
          'mode',
          'concurrency',
          'API p50',
          'API p95',
          'API p99',
          'API req/s',
          'floor p50',
          'floor p95',
          'floor p99',
          'floor req/s',
          'API p50 / floor p50',
        ],
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
        out,
      ),
    );
    lines.push(
      ...errorsNote(runs.flatMap((r) => [...(r.requests ?? []), ...(r.distributed?.requests ?? [])])),
    );
  }
  return lines.join('\n');
}

function errorsNote(rows) {
  const failed = rows.filter((r) => r.errors > 0);
  if (failed.length === 0) return [];
  return [
    '',
    `Failed requests: ${failed.map((r) => `${r.endpoint} ${r.mode} c=${r.concurrency}: ${r.errors}`).join('; ')} ` +
      `(first: ${failed[0].errorSamples[0]}).`,
  ];
}

function requestTable(runs, pick, endpoint, mode, cs) {
  return cs.map((c) => {
    const f = (field, d = 1) =>
      field === 'requestsPerSecond'
        ? cell(across(runs, pick, endpoint, mode, c, field), d)
        : latencyCell(runs, pick, endpoint, mode, c, field);
    return row([c, f('p50Ms'), f('p95Ms'), f('p99Ms'), f('requestsPerSecond', 0)]);
  });
}

export function querySection(report) {
  const lines = ['## 3. Query', ''];
  const scales = report.scales.filter((s) =>
    s.postgres?.some((r) => findRow(r.requests, '/rag/query', 'hybrid', concurrencies(report)[0])),
  );
  if (scales.length === 0) lines.push('`/rag/query` not run (scenario `query`).');
  else {
    lines.push(
      '`POST /rag/query` with the extractive generator (hybrid retrieval, re-ranking, answer), on the monolith on PostgreSQL. Latencies in ms.',
    );
    for (const s of scales) {
      lines.push(
        '',
        `### ${s.scale} (${runsNote(s.postgres.length)})`,
        '',
        table(
          ['concurrency', 'p50', 'p95', 'p99', 'req/s'],
          ['r', 'r', 'r', 'r', 'r'],
          requestTable(s.postgres, (r) => r.requests, '/rag/query', 'hybrid', concurrencies(report)),
        ),
      );
    }
  }
  lines.push('', '### Time to first token', '');
  if (!report.ttft?.length) lines.push('Not run (scenario `ttft`).');
  else {
    const t = report.ttft[0].options;
    const p = (xs, q) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    };
    const model = (q) => report.ttft.map((r) => p(r.model, q));
    const of = (name, q) =>
      report.ttft.map((r) =>
        p(
          r.results[name].map((x) => x.ttft),
          q,
        ),
      );
    const added = (name, q) =>
      report.ttft.map(
        (r) =>
          p(
            r.results[name].map((x) => x.ttft),
            q,
          ) - p(r.model, q),
      );
    lines.push(
      `A streamed \`/rag/query\` against a fake OpenAI-compatible model (first token after ${t.firstTokenMs} ms, then one every ${t.tokenMs} ms), ` +
        `${t.requests} sequential requests per deployment over ${t.docs} SciFact documents (scripts/bench/ttft.mjs); ${runsNote(report.ttft.length)}. ms.`,
      '',
      table(
        ['path', 'first token p50', 'p95', 'added to the model p50', 'added p95'],
        ['l', 'r', 'r', 'r', 'r'],
        [
          row(['the model alone', cell(model(0.5)), cell(model(0.95)), '', '']),
          ...['monolith', 'distributed'].map((name) =>
            row([
              name,
              cell(of(name, 0.5)),
              cell(of(name, 0.95)),
              cell(added(name, 0.5)),
              cell(added(name, 0.95)),
            ]),
          ),
        ],
      ),
    );
  }
  return lines.join('\n');
}
