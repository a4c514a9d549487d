// Section 1 of docs/benchmarks.md: ingestion throughput, against LangChain's PGVector store.

import { fmt } from '../lib.mjs';
import { cell, row, runsNote, table } from './cells.mjs';

/**
 * LangChain.js's runs of one ingestion run. Runs recorded before it was loaded as a bulk load hold one
 * figure, sequential, with the HNSW index built before the load.
 */
function langchainRuns(run) {
  const l = run.langchain;
  return l.runs ?? [{ ...l, processes: 1, concurrency: 1, indexBuiltAfterLoad: false }];
}

function langchainShape(l) {
  const index = l.indexBuiltAfterLoad ? 'HNSW built after the load' : 'HNSW built before the load';
  return `${l.processes} thread${l.processes > 1 ? 's' : ''} × ${l.concurrency} call${l.concurrency > 1 ? 's' : ''} at a time, ${index}`;
}

/** The floor's bare CREATE INDEX of the HNSW index, s (on the first ragnest run's rows). */
function floorHnswSeconds(run) {
  return run.floor.indexLessThenIndexes.steps.find(
    (x) => x.step.startsWith('build ') && x.step.includes('_hnsw'),
  )?.seconds;
}

/**
 * ragnest's own HNSW build after the load in its `i`th ingestion run (timed by its ingestion process)
 * against the floor's bare CREATE INDEX on the same vectors; NaN when either was not recorded.
 */
export function hnswBuildRatio(run, i = 0) {
  return (run.ragnest[i]?.vectorIndexBuild?.seconds ?? NaN) / (floorHnswSeconds(run) ?? NaN);
}

export function ingestionSection(report) {
  const lines = ['## 1. Ingestion', ''];
  const scales = report.scales.filter((s) => s.ingest?.length);
  if (scales.length === 0) return [...lines, 'Not run (scenario `ingest`).'].join('\n');
  lines.push(
    'ragnest through its API: the distributed deployment (BullMQ) with 1 or 2 ingestion processes, the corpus POSTed ' +
      'in batches of 500, timed from the first POST until every document is indexed and the HNSW index is built ' +
      '(the merge of the lexical segments after the build is not timed: a search reads the segments as they are). ' +
      "**The floor** does ragnest's work in ragnest's order on the same rows ragnest wrote, its lexical blocks once " +
      'merged: a bare COPY into index-less ' +
      "tables, then every index built, the HNSW one with ragnest's VECTOR_INDEX_BUILD_MEMORY_MB as maintenance_work_mem " +
      '(scripts/bench/ingest-floor.mjs). A COPY into tables that already carry every index, HNSW included, is shown as a ' +
      'reference only: it inserts into the HNSW graph row by row, which ragnest does not do. LangChain.js: ' +
      'PGVectorStore.addDocuments with the same chunks and embedder; it writes vectors only, **no BM25 postings**.',
  );
  for (const s of scales) {
    const runs = s.ingest;
    const chunks = runs[0].ragnest[0]?.chunks;
    const indexedSeconds = (r) => r.floor.intoIndexedTables.steps.reduce((t, x) => t + x.seconds, 0);
    const floorSeconds = (r) => r.floor.indexLessThenIndexes.steps.reduce((t, x) => t + x.seconds, 0);
    // One path: its chunks/s, its seconds, and its time against the floor's, run by run.
    const path = (label, rate, seconds, digits, ratio) =>
      row([
        label,
        cell(runs.map(rate), 0),
        cell(runs.map(seconds), digits),
        ratio ??
          cell(
            runs.map((r) => seconds(r) / floorSeconds(r)),
            1,
            '×',
          ),
      ]);
    const out = runs[0].ragnest.map((first, i) =>
      path(
        `ragnest API, ${first.workers} ingestion process${first.workers > 1 ? 'es' : ''} (INGESTION_CONCURRENCY=${first.ingestionConcurrency})`,
        (r) => r.ragnest[i]?.chunksPerSecond ?? NaN,
        (r) => r.ragnest[i]?.seconds ?? NaN,
        1,
      ),
    );
    langchainRuns(runs[0]).forEach((first, i) =>
      out.push(
        path(
          `LangChain.js ${first.version} PGVectorStore.addDocuments, ${langchainShape(first)}; ` +
            'vectors only, no BM25 postings',
          (r) => langchainRuns(r)[i]?.chunksPerSecond ?? NaN,
          (r) => langchainRuns(r)[i]?.seconds ?? NaN,
          1,
        ),
      ),
    );
    out.push(
      path(
        '**floor**: bare COPY into index-less tables, then the index builds',
        (r) => chunks / floorSeconds(r),
        floorSeconds,
        2,
        '1×',
      ),
      path(
        'reference, not the floor: bare COPY into tables already carrying every index (HNSW row by row)',
        (r) => chunks / indexedSeconds(r),
        indexedSeconds,
        2,
      ),
    );
    lines.push(
      '',
      `### ${s.scale}: ${fmt(s.documents)} documents → ${fmt(chunks)} chunks (${runsNote(runs.length)})`,
      '',
      table(['path', 'chunks/s', 's', 'time / floor'], ['l', 'r', 'r', 'r'], out),
    );
    const builds = runs[0].floor.indexLessThenIndexes.steps.filter((x) => x.step.startsWith('build '));
    lines.push(
      '',
      "Index build time (the floor's CREATE INDEX after the bare COPY, s):",
      '',
      table(
        ['index', 's'],
        ['l', 'r'],
        builds.map((b) =>
          row([
            `\`${b.step.slice('build '.length)}\``,
            cell(
              runs.map(
                (r) => r.floor.indexLessThenIndexes.steps.find((x) => x.step === b.step)?.seconds ?? NaN,
              ),
              2,
            ),
          ]),
        ),
      ),
    );
    if (runs[0].ragnest.some((r) => r.vectorIndexBuild))
      lines.push(
        '',
        "ragnest's own HNSW build after the load (CREATE INDEX CONCURRENTLY, as its ingestion process times it: " +
          '`ragnest_vector_index_build_duration_seconds` on /metrics; included in the times above), against the ' +
          "floor's bare CREATE INDEX of the same vectors. What still differs: a concurrent build scans the table a " +
          'second time to validate the index.',
        '',
        table(
          ['path', 'HNSW build s', "/ the floor's CREATE INDEX"],
          ['l', 'r', 'r'],
          runs[0].ragnest.map((first, i) =>
            row([
              `ragnest API, ${first.workers} ingestion process${first.workers > 1 ? 'es' : ''}`,
              cell(
                runs.map((r) => r.ragnest[i]?.vectorIndexBuild?.seconds ?? NaN),
                2,
              ),
              cell(
                runs.map((r) => hnswBuildRatio(r, i)),
                2,
                '×',
              ),
            ]),
          ),
        ),
      );
  }
  const notRun = report.scales.filter((s) => !s.ingest?.length && s.postgres?.length).map((s) => s.scale);
  if (notRun.length > 0)
    lines.push(
      '',
      `At ${notRun.join(', ')} this scenario was not run. The monolith's own ingestion through its API (in-process queue), ` +
        'which filled the database for the request runs, is in section 6.',
    );
  return lines.join('\n');
}
