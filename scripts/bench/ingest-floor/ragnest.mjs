// ragnest ingesting through its API: the distributed deployment with N ingestion processes, timed.

import os from 'node:os';
import { ingest, maintenanceSettled } from '../ingest-client.mjs';
import { fmt, INDEX_BUILD_MEMORY_MB, startDistributed } from '../lib.mjs';
import { lexicalFloor } from './copy-floor.mjs';
import { cpuBetween, cpuSnapshot } from './cpu.mjs';
import { createDatabase, dropDatabase, withClient } from './databases.mjs';

/** The contexts started once each beside the ingestion processes and the gateway. */
const OTHER_CONTEXTS = ['query-understanding', 'generation', 'presentation', 'retrieval'];
/** The distributed deployment with `workers` ingestion processes and one process of each other context. */
function startRagnest(db, workers, concurrency) {
  return startDistributed({
    tag: 'floor',
    env: {
      DATABASE_URL: db.url,
      INGESTION_CONCURRENCY: String(concurrency),
      // The HNSW index is always built (and timed), however few documents --docs asks for.
      VECTOR_INDEX_MIN_CHUNKS: '1',
      VECTOR_INDEX_BUILD_MEMORY_MB: String(INDEX_BUILD_MEMORY_MB),
    },
    services: [
      ...Array.from({ length: workers - 1 }, (_, i) => [`ingestion-${i + 2}`, 'ingestion']),
      ...OTHER_CONTEXTS.map((context) => [context, context]),
    ],
  });
}

/**
 * ragnest's own HNSW build after the load (CREATE INDEX CONCURRENTLY), as its ingestion processes time it
 * on /metrics: { seconds, builds } summed over them, or null when none reported one.
 */
async function vectorIndexBuildOf(processes) {
  const name = 'ragnest_vector_index_build_duration_seconds';
  let seconds = 0;
  let builds = 0;
  for (const p of processes.filter((x) => x.name.startsWith('ingestion'))) {
    const text = await (await fetch(`${p.baseUrl}/metrics`)).text();
    const sample = (suffix) => Number(new RegExp(`^${name}_${suffix} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    seconds += sample('sum');
    builds += sample('count');
  }
  return builds > 0 ? { seconds, builds } : null;
}

export async function benchRagnest(documents, workers, concurrency) {
  const label = `${workers} ingestion process${workers > 1 ? 'es' : ''}, INGESTION_CONCURRENCY=${concurrency}`;
  process.stderr.write(`\nragnest, ${label}: starting the servers\n`);
  const db = await createDatabase(`w${workers}c${concurrency}`);
  let deployment;
  try {
    deployment = await startRagnest(db, workers, concurrency);
    process.stderr.write(`ragnest, ${label}: ingesting ${documents.length} documents\n`);
    const loadBefore = os.loadavg();
    const before = await cpuSnapshot(deployment.processes);
    const ingestion = await ingest(deployment.baseUrl, documents, { waitForIndex: true });
    const cpu = cpuBetween(before, await cpuSnapshot(deployment.processes));
    const vectorIndexBuild = await vectorIndexBuildOf(deployment.processes);
    // Untimed: the lexical segments are merged after the build, and the floor copies the merged blocks.
    await maintenanceSettled(db.url);
    const postings = await withClient(db.url, (c) => lexicalFloor().countPostings(c));
    process.stderr.write(
      `ragnest, ${label}: ${ingestion.chunks} chunks in ${fmt(ingestion.seconds, 1)} s ` +
        `(${fmt(ingestion.chunksPerSecond)} chunks/s)\n`,
    );
    return {
      db,
      result: {
        workers,
        ingestionConcurrency: concurrency,
        ...ingestion,
        postings,
        vectorIndexBuild,
        cpu,
        loadAverage: { before: loadBefore, after: os.loadavg() },
      },
    };
  } catch (error) {
    await dropDatabase(db);
    throw error;
  } finally {
    await deployment?.stop();
  }
}
