import { readFileSync } from 'node:fs';

let corpus: { _id: string; title: string; text: string }[] | undefined;

/**
 * The first `n` documents of BEIR SciFact (read from ../shared beside the repository) as ingestion takes
 * them: realistic text in bulk, for tests that need an ingest to still be running when something fails.
 */
export function scifactDocuments(n: number): { id: string; title: string; text: string }[] {
  corpus ??= readFileSync(
    new URL('../../../../shared/datasets/scifact/corpus.jsonl', import.meta.url),
    'utf8',
  )
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { _id: string; title: string; text: string });
  return corpus.slice(0, n).map((d) => ({ id: d._id, title: d.title, text: d.text }));
}
