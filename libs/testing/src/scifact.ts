import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** BEIR SciFact, beside the repository: ../shared/datasets/scifact (corpus.jsonl, queries.jsonl, qrels/). */
export const SCIFACT_DIR = fileURLToPath(new URL('../../../../shared/datasets/scifact', import.meta.url));
const SCIFACT_FILES = ['corpus.jsonl', 'queries.jsonl', join('qrels', 'test.tsv')];
const SCIFACT_SOURCE = 'https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip';

/**
 * Whether a suite that needs SciFact can run. When the data set is missing it says so, visibly, with what
 * is missing and where to put it, and the suite is skipped; with REQUIRE_SCIFACT=1 (set by .ci/run) a
 * missing data set is an error instead, so CI cannot pass by skipping.
 */
export function scifactAvailable(suite: string, dir: string = SCIFACT_DIR): boolean {
  const missing = SCIFACT_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length === 0) return true;
  const message =
    `${suite} needs BEIR SciFact in ${dir}, which lacks ${missing.join(', ')}: ` +
    `download ${SCIFACT_SOURCE} and unzip it into ${join(dir, '..')}.`;
  if (process.env.REQUIRE_SCIFACT === '1')
    throw new Error(`${message} (REQUIRE_SCIFACT=1 makes this an error)`);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

let corpus: { _id: string; title: string; text: string }[] | undefined;

/**
 * The first `n` documents of BEIR SciFact (read from ../shared beside the repository) as ingestion takes
 * them: realistic text in bulk, for tests that need an ingest to still be running when something fails.
 * Suites call it only once scifactAvailable() said yes.
 */
export function scifactDocuments(n: number): { id: string; title: string; text: string }[] {
  corpus ??= readFileSync(join(SCIFACT_DIR, 'corpus.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { _id: string; title: string; text: string });
  return corpus.slice(0, n).map((d) => ({ id: d._id, title: d.title, text: d.text }));
}
