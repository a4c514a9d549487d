// The Markdown the ingestion and search benchmark prints: environment, per-backend tables, memory, and the
// monolith against the distributed deployment.

import { relative } from 'node:path';
import {
  comparableRatio,
  errorRate,
  fmt,
  loadText,
  machine,
  RATIO_MAX_ERROR_RATE,
  REPO_ROOT,
} from '../lib.mjs';
import { WARMUP_REQUESTS } from '../requests.mjs';
import { RETRIEVAL_REPLICAS } from '../servers.mjs';

export function environment(options) {
  return { ...machine(), dataset: relative(REPO_ROOT, options.dataset) || '.' };
}

export function formatEnvironment(env, data, options) {
  return [
    `Machine: ${env.cpu} × ${env.cores}, ${fmt(env.memoryGiB, 1)} GiB RAM, ${env.platform}; load average at start ${loadText(env.loadAverageAtStart)}`,
    `Node ${env.node}`,
    `Command: \`${env.command}\``,
    `Data set: ${env.dataset} (${fmt(data.documents.length)} documents, ${fmt(data.queries.length)} test queries; ` +
      `concurrency ${options.concurrency.join(', ')}; ${WARMUP_REQUESTS} warm-up requests per run)`,
  ].join('\n');
}

export function formatBackend(result) {
  const i = result.ingestion;
  const lines = [
    `### ${result.backend}${result.backend === 'distributed' ? ` (one process per context, ${RETRIEVAL_REPLICAS} retrieval replicas, over Redis Streams)` : ''}`,
    '',
    `Ingestion: ${fmt(i.documents)} documents${i.failed ? ` (${fmt(i.failed)} failed)` : ''} → ${fmt(i.chunks)} chunks ` +
      `(${i.embedding.model}, ${i.embedding.dimensions} dims) in ${fmt(i.seconds, 1)} s: ` +
      `${fmt(i.documentsPerSecond, 1)} documents/s, ${fmt(i.chunksPerSecond, 1)} chunks/s ` +
      `(all POSTed after ${fmt(i.postedSeconds, 1)} s; slowest status poll ${fmt(i.slowestPollMs)} ms` +
      `${i.connectionResets ? `; ${i.connectionResets} connection(s) reset by the server and retried` : ''}).`,
    ...formatMemory(result.memoryMiB),
    '',
    'Percentiles over all requests, a failed one counted at the time it failed; the failure rate beside them.',
    '',
    '| endpoint | mode | concurrency | requests | errors | failed | p50 ms | p95 ms | p99 ms | req/s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of result.requests) {
    lines.push(
      `| ${r.endpoint} | ${r.mode} | ${r.concurrency} | ${r.requests} | ${r.errors} | ` +
        `${fmt(100 * errorRate(r), 1)} % | ${fmt(r.p50Ms, 1)} | ` +
        `${fmt(r.p95Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.requestsPerSecond, 1)} |`,
    );
  }
  return lines.join('\n');
}

function formatMemory(processes) {
  if (processes.length === 1) {
    const [m] = processes;
    return [
      `Server RSS: ${fmt(m.afterIngestion)} MiB after ingestion, ${fmt(m.afterRequests)} MiB after the request runs (peak ${fmt(m.peak)} MiB).`,
    ];
  }
  const sum = (field) => processes.reduce((total, m) => total + m[field], 0);
  return [
    '',
    '| process | RSS after ingestion MiB | RSS after requests MiB | peak RSS MiB |',
    '| --- | ---: | ---: | ---: |',
    ...processes.map(
      (m) => `| ${m.process} | ${fmt(m.afterIngestion)} | ${fmt(m.afterRequests)} | ${fmt(m.peak)} |`,
    ),
    // Peaks need not coincide, so their sum bounds the deployment's peak from above.
    `| **total** | ${fmt(sum('afterIngestion'))} | ${fmt(sum('afterRequests'))} | ≤ ${fmt(sum('peak'))} |`,
  ];
}

const ratioText = (x) => (Number.isFinite(x) ? `${fmt(x, 2)}×` : '–');

/** The monolith on PostgreSQL against the distributed deployment, run for run. */
export function formatComparison(monolith, distributed) {
  const lines = [
    '### postgres (monolith) vs distributed',
    '',
    `Percentiles over all requests, failures at the time they failed; no ratio where either side failed more than ${fmt(100 * RATIO_MAX_ERROR_RATE)} % of its requests.`,
    '',
    '| endpoint | mode | concurrency | monolith p50 ms | monolith p95 ms | monolith failed | monolith req/s | ' +
      'distributed p50 ms | distributed p95 ms | distributed failed | distributed req/s | distributed p50 / monolith p50 |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const m of monolith.requests) {
    const d = distributed.requests.find(
      (r) => r.endpoint === m.endpoint && r.mode === m.mode && r.concurrency === m.concurrency,
    );
    if (!d) continue;
    lines.push(
      `| ${m.endpoint} | ${m.mode} | ${m.concurrency} | ${fmt(m.p50Ms, 1)} | ${fmt(m.p95Ms, 1)} | ` +
        `${fmt(100 * errorRate(m), 1)} % | ${fmt(m.requestsPerSecond, 1)} | ${fmt(d.p50Ms, 1)} | ${fmt(d.p95Ms, 1)} | ` +
        `${fmt(100 * errorRate(d), 1)} % | ${fmt(d.requestsPerSecond, 1)} | ${ratioText(comparableRatio(d, m, 'p50Ms'))} |`,
    );
  }
  return lines.join('\n');
}
