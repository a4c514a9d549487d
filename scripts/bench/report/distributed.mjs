// Section 4 of docs/benchmarks.md: one process per context over Redis Streams against the monolith.

import { fmt } from '../lib.mjs';
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

export function distributedSection(report) {
  const lines = ['## 4. Distributed against monolith', ''];
  const scales = report.scales.filter((s) => s.postgres?.some((r) => r.distributed));
  if (scales.length === 0) lines.push('Not run (scenario `distributed`).');
  else {
    lines.push(
      'The distributed deployment (gateway, ingestion, query-understanding, 2 retrieval replicas, generation, presentation; ' +
        "one process each, over Redis Streams) on the monolith's database right after the monolith's runs, same requests. Latencies in ms.",
    );
    for (const s of scales) {
      const runs = s.postgres.filter((r) => r.distributed);
      const out = [];
      const kinds = [...MODES.map((m) => ['/rag/search', m]), ['/rag/query', 'hybrid']];
      for (const [endpoint, mode] of kinds) {
        for (const c of concurrencies(report)) {
          if (!findRow(runs[0].requests, endpoint, mode, c)) continue;
          const m = (f, d = 1) =>
            f === 'requestsPerSecond'
              ? cell(
                  across(runs, (r) => r.requests, endpoint, mode, c, f),
                  d,
                )
              : latencyCell(runs, (r) => r.requests, endpoint, mode, c, f);
          const d = (f, dd = 1) =>
            f === 'requestsPerSecond'
              ? cell(
                  across(runs, (r) => r.distributed.requests, endpoint, mode, c, f),
                  dd,
                )
              : latencyCell(runs, (r) => r.distributed.requests, endpoint, mode, c, f);
          out.push(
            row([
              endpoint,
              mode,
              c,
              m('p50Ms'),
              d('p50Ms'),
              ratioCell(
                ratioAcross(
                  runs,
                  (r) => r.distributed.requests,
                  (r) => r.requests,
                  endpoint,
                  mode,
                  c,
                  'p50Ms',
                ),
                worstErrorRate(runs, (r) => r.distributed.requests, endpoint, mode, c),
                worstErrorRate(runs, (r) => r.requests, endpoint, mode, c),
              ),
              m('p95Ms'),
              d('p95Ms'),
              m('requestsPerSecond', 0),
              d('requestsPerSecond', 0),
            ]),
          );
        }
      }
      lines.push(
        '',
        `### ${s.scale} (${runsNote(runs.length)})`,
        '',
        table(
          [
            'endpoint',
            'mode',
            'concurrency',
            'monolith p50',
            'distributed p50',
            'distributed / monolith p50',
            'monolith p95',
            'distributed p95',
            'monolith req/s',
            'distributed req/s',
          ],
          ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
          out,
        ),
      );
    }
  }
  lines.push('', '### The transport: cost per hop', '');
  if (!report.transport?.length) lines.push('Not run (scenario `transport`).');
  else {
    const runs = report.transport;
    const first = runs[0];
    const key = (r) => `${r.payload}|${r.concurrency}`;
    const pick = (run, transport, k) => run[transport].find((r) => key(r) === k);
    const out = first.redis.map((r) => {
      const k = key(r);
      const f = (transport, field, d = 3) =>
        cell(
          runs.map((run) => pick(run, transport, k)?.[field] ?? NaN),
          d,
        );
      const hop = (field) =>
        cell(
          runs.map((run) => pick(run, 'redis', k)[field] - pick(run, 'inProcess', k)[field]),
          3,
        );
      return row([
        r.payload,
        r.concurrency,
        f('inProcess', 'p50Ms'),
        f('redis', 'p50Ms'),
        hop('p50Ms'),
        hop('p95Ms'),
        hop('p99Ms'),
        f('inProcess', 'callsPerSecond', 0),
        f('redis', 'callsPerSecond', 0),
      ]);
    });
    lines.push(
      `One call to a context that echoes its payload, over the in-process transport (the monolith) and over Redis Streams, client and server in one process; ` +
        `${fmt(report.options.transportCalls)} calls per case after ${first.warmupCalls} warm-up calls (scripts/bench/transport.mjs); ${runsNote(runs.length)}. ` +
        'Cost per hop = Redis Streams minus in-process, run by run. ms.',
      '',
      table(
        [
          'payload',
          'concurrency',
          'in-process p50',
          'Redis Streams p50',
          'cost per hop p50',
          'p95',
          'p99',
          'in-process calls/s',
          'Redis calls/s',
        ],
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
        out,
      ),
    );
  }
  return lines.join('\n');
}
