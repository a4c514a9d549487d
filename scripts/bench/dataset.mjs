// A BEIR data set (SciFact) as the benchmarks use it: its documents as ragnest ingests them, and its test queries.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonl } from './lib.mjs';

/** The first `maxDocs` documents of a BEIR corpus, as ragnest ingests them. */
export async function loadDocuments(dir, maxDocs) {
  const documents = (await readJsonl(join(dir, 'corpus.jsonl'))).slice(0, maxDocs).map((d) => ({
    id: String(d._id),
    ...(d.title ? { title: d.title } : {}),
    text: d.text,
    metadata: d.metadata ?? {},
  }));
  if (documents.length === 0) throw new Error(`${dir}/corpus.jsonl has no documents`);
  return documents;
}

export async function loadDataset(dir, maxDocs, maxQueries) {
  const documents = await loadDocuments(dir, maxDocs);
  const qrels = await readFile(join(dir, 'qrels', 'test.tsv'), 'utf8');
  // The first line is the header (query-id, corpus-id, score).
  const testIds = new Set(
    qrels
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t')[0])
      .filter(Boolean),
  );
  const queries = (await readJsonl(join(dir, 'queries.jsonl')))
    .filter((q) => testIds.has(String(q._id)))
    .slice(0, maxQueries)
    .map((q) => q.text);
  if (queries.length === 0) throw new Error(`${dir} has no test queries`);
  return { documents, queries };
}
