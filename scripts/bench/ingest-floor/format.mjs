// The Markdown this benchmark prints: the environment, ragnest's runs, the floors and the comparison.

import { relative } from 'node:path';
import { fmt, INDEX_BUILD_MEMORY_MB, loadText, machine, REPO_ROOT } from '../lib.mjs';

const TARGET_CHUNKS_PER_SECOND = 2000;
const TARGET_RATIO = 1.5;

const total = (steps) => steps.reduce((s, x) => s + x.seconds, 0);

export function environment(options, postgres) {
  return { ...machine(), dataset: relative(REPO_ROOT, options.dataset) || '.', postgres };
}

export function formatHeader(env, documents, loadAtEnd) {
  const settings = Object.entries(env.postgres.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return [
    `Machine: ${env.cpu} × ${env.cores}, ${fmt(env.memoryGiB, 1)} GiB RAM, ${env.platform}; ` +
      `load average ${loadText(env.loadAverageAtStart)} at start, ${loadText(loadAtEnd)} at the end`,
    `Node ${env.node}; PostgreSQL ${env.postgres.server}, pgvector ${env.postgres.pgvector} (${settings})`,
    `Command: \`${env.command}\``,
    `Data set: ${env.dataset} (${fmt(documents.length)} documents)`,
  ].join('\n');
}

function cpuColumns(cpu) {
  const sum = (prefix) =>
    cpu.processes.filter((p) => p.name.startsWith(prefix)).reduce((s, p) => s + p.seconds, 0);
  const ingestion = sum('ingestion-');
  const gateway = sum('gateway');
  const others = cpu.processes.reduce((s, p) => s + p.seconds, 0) - ingestion - gateway;
  return [ingestion, gateway, others, cpu.postgres, cpu.redis, cpu.bench, cpu.other].map((s) => fmt(s, 1));
}

export function formatRagnest(runs) {
  const lines = [
    '### ragnest through its API (distributed, BullMQ; one process of each other context and the gateway)',
    '',
    'From the first POST until no document is queued or processing and the HNSW index is built; CPU seconds over the same window.',
    '',
    '| ingestion processes | INGESTION_CONCURRENCY | documents | chunks | postings | s | documents/s | chunks/s | ' +
      'all POSTed at s | machine busy | CPU s: ingestion | gateway | other contexts | postgres | redis | bench client | unaccounted | load avg 1 min before → after |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of runs) {
    lines.push(
      `| ${r.workers} | ${r.ingestionConcurrency} | ${fmt(r.documents)}${r.failed ? ` (${r.failed} failed)` : ''} | ` +
        `${fmt(r.chunks)} | ${fmt(r.postings)} | ${fmt(r.seconds, 1)} | ${fmt(r.documentsPerSecond, 1)} | ` +
        `${fmt(r.chunksPerSecond)} | ${fmt(r.postedSeconds, 1)} | ${fmt(100 * r.cpu.machineBusyShare)} % | ` +
        `${cpuColumns(r.cpu).join(' | ')} | ${r.loadAverage.before[0].toFixed(2)} → ${r.loadAverage.after[0].toFixed(2)} |`,
    );
  }
  const resets = runs.filter((r) => r.connectionResets > 0);
  for (const r of resets) {
    lines.push(
      '',
      `(${r.workers} × ${r.ingestionConcurrency}: ${r.connectionResets} connection(s) reset and retried)`,
    );
  }
  return lines.join('\n');
}

export function formatFloor(rows, indexed, thenIndex) {
  const chunks = rows.loaded.find((t) => t.table === 'chunks').rows;
  const stepRows = (label, result) =>
    result.steps.map(
      (s) =>
        `| ${label} | ${s.step} | ${s.part ?? ''} | ${s.rows === undefined ? '' : fmt(s.rows)} | ` +
        `${s.bytes === undefined ? '' : fmt(s.bytes / 1024 ** 2, 1)} | ${fmt(s.seconds, 2)} | ` +
        `${s.rows === undefined ? '' : fmt(s.rows / s.seconds)} |`,
    );
  const totalRow = (label, result) =>
    `| ${label} | **total** | | | | **${fmt(total(result.steps), 2)}** | **${fmt(chunks / total(result.steps))} chunks/s** |`;
  const cpuLine = (label, cpu) =>
    `${label}: PostgreSQL ${fmt(cpu.postgres, 1)} CPU s, this client ${fmt(cpu.bench, 1)}, ` +
    `unaccounted ${fmt(cpu.other, 1)}; machine ${fmt(100 * cpu.machineBusyShare)} % busy over ${fmt(cpu.wallSeconds, 1)} s.`;
  const floor = '**floor**: index-less, then the index builds';
  const reference = 'reference: into indexed tables';
  return [
    '### The floor: bare COPY of the same rows (text format, one connection, each COPY its own transaction)',
    '',
    "Rows read back from the 1st run's database; collections and documents copied first, untimed; the chunks → documents foreign key is kept in both cases. " +
      `The floor does ragnest's work in ragnest's order: COPY into index-less tables, then every index built, the HNSW one with maintenance_work_mem = ${INDEX_BUILD_MEMORY_MB} MB as ragnest's build (VECTOR_INDEX_BUILD_MEMORY_MB). ` +
      'The reference COPYs into tables that already carry every index, HNSW included (row-by-row graph inserts, which ragnest does not make): it is not the floor.',
    '',
    '| case | step | part | rows | MiB | s | rows/s |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ...stepRows(floor, thenIndex),
    totalRow(floor, thenIndex),
    ...stepRows(reference, indexed),
    totalRow(reference, indexed),
    '',
    cpuLine('Floor (index-less then indexes)', thenIndex.cpu),
    cpuLine('Reference (into indexed tables)', indexed.cpu),
  ].join('\n');
}

export function formatComparison(runs, indexed, thenIndex, langchain) {
  const floorSeconds = total(thenIndex.steps);
  const indexedSeconds = total(indexed.steps);
  const lines = [
    '### ragnest against the floor',
    '',
    `Target: at least ${fmt(TARGET_CHUNKS_PER_SECOND)} chunks/s and at most ${TARGET_RATIO}× the floor (bare COPY into index-less tables, then the index builds).`,
    '',
    '| path | chunks/s | vs 2,000 chunks/s | s / floor s | s / reference (COPY into indexed tables) s |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of runs) {
    lines.push(
      `| ragnest, ${r.workers} ingestion process${r.workers > 1 ? 'es' : ''} × INGESTION_CONCURRENCY=${r.ingestionConcurrency} | ` +
        `${fmt(r.chunksPerSecond)} | ${fmt(r.chunksPerSecond / TARGET_CHUNKS_PER_SECOND, 2)}× | ` +
        `${fmt(r.seconds / floorSeconds, 1)}× | ${fmt(r.seconds / indexedSeconds, 1)}× |`,
    );
  }
  for (const l of langchain.runs) {
    lines.push(
      `| LangChain.js ${l.version} PGVectorStore.addDocuments, ${l.processes} thread${l.processes > 1 ? 's' : ''} × ${l.concurrency}, ` +
        `HNSW built after the load (vectors only: **no BM25 postings**) | ${fmt(l.chunksPerSecond)} | ` +
        `${fmt(l.chunksPerSecond / TARGET_CHUNKS_PER_SECOND, 2)}× | ${fmt(l.seconds / floorSeconds, 1)}× | ` +
        `${fmt(l.seconds / indexedSeconds, 1)}× |`,
    );
  }
  const best = runs.reduce((a, b) => (b.chunksPerSecond > a.chunksPerSecond ? b : a));
  const ratio = best.seconds / floorSeconds;
  const speed =
    best.chunksPerSecond >= TARGET_CHUNKS_PER_SECOND
      ? `meets the ${fmt(TARGET_CHUNKS_PER_SECOND)} chunks/s target`
      : `misses the ${fmt(TARGET_CHUNKS_PER_SECOND)} chunks/s target by ${fmt(TARGET_CHUNKS_PER_SECOND / best.chunksPerSecond, 1)}× ` +
        `(${fmt(TARGET_CHUNKS_PER_SECOND - best.chunksPerSecond)} chunks/s short)`;
  const floor =
    ratio <= TARGET_RATIO
      ? `is within ${TARGET_RATIO}× the floor (${fmt(ratio, 2)}×)`
      : `takes ${fmt(ratio, 1)}× the floor's time against at most ${TARGET_RATIO}×: ` +
        `${fmt(ratio / TARGET_RATIO, 1)}× too slow (it would need ${fmt(TARGET_RATIO * floorSeconds, 1)} s, not ${fmt(best.seconds, 1)} s)`;
  const matched = langchain.runs.find(
    (l) => l.processes === best.workers && l.concurrency === best.ingestionConcurrency,
  );
  lines.push(
    '',
    `Best run (${best.workers} ingestion process${best.workers > 1 ? 'es' : ''}, INGESTION_CONCURRENCY=${best.ingestionConcurrency}): ` +
      `${fmt(best.chunksPerSecond)} chunks/s ${speed}; it ${floor}` +
      (matched
        ? `; ${fmt(best.chunksPerSecond / matched.chunksPerSecond, 2)}× LangChain.js's ${fmt(matched.chunksPerSecond)} chunks/s at the same parallelism, ` +
          'which writes vectors only while ragnest also writes the BM25 postings.'
        : '.'),
  );
  return lines.join('\n');
}
