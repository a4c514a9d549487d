import { Command, InvalidArgumentError } from 'commander';
import {
  INGESTION_PORT,
  RETRIEVAL_PORT,
  SearchMode,
  type IngestionPort,
  type RetrievalPort,
  COLLECTION_NAME,
} from '#contracts';
import { type AppConfig, loadConfig } from '#platform';
import { AnswerQueryHandler } from '#gateway';
import { createApp, serve } from '../server/src/bootstrap.js';
import { evaluate, formatResults } from './src/evaluate.js';
import { ingestDocuments } from './src/ingest-files.js';
import { expandPaths, readDocuments } from './src/load-documents.js';

/**
 * The ragnest command line. Every command but `serve` runs the contexts in this process, on the same
 * configuration as the server (DATABASE_URL or the embedded database in DATA_DIR).
 */
function collectionName(value: string): string {
  if (!COLLECTION_NAME.test(value))
    throw new InvalidArgumentError('a collection name is 1-128 letters, digits, ".", "_" or "-"');
  return value;
}

function modes(value: string): SearchMode[] {
  const list = value.split(',').map((m) => m.trim());
  for (const m of list)
    if (!SearchMode.safeParse(m).success)
      throw new InvalidArgumentError(`unknown mode "${m}" (hybrid, dense, sparse)`);
  return list as SearchMode[];
}

async function withApp<T>(fn: (app: Awaited<ReturnType<typeof createApp>>) => Promise<T>): Promise<T> {
  const config: AppConfig = { ...loadConfig(), logLevel: 'warn' };
  const app = await createApp(config);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

const program = new Command('ragnest')
  .description('Retrieval-Augmented Generation server')
  .showHelpAfterError();

program
  .command('serve')
  .description('serve the HTTP API (RAG_CONTEXTS decides which contexts this process hosts)')
  .action(async () => {
    await serve(loadConfig());
  });

program
  .command('ingest')
  .description('ingest files (txt, md, html, pdf, json/jsonl of {id,text,title,metadata}, BEIR corpus.jsonl)')
  .argument('<collection>', 'collection name', collectionName)
  .argument('<paths...>', 'files, directories or globs')
  .action(async (collection: string, paths: string[]) => {
    const files = await expandPaths(paths);
    const documents = (await Promise.all(files.map(readDocuments))).flat();
    const summary = await withApp((app) =>
      ingestDocuments(app.get<IngestionPort>(INGESTION_PORT), collection, documents, {
        progress: process.stderr.isTTY === true,
      }),
    );
    console.log(
      `${summary.indexed} indexed, ${summary.unchanged} unchanged, ${summary.failed.length} failed ` +
        `(${documents.length} documents from ${files.length} files in ${summary.seconds.toFixed(1)} s)`,
    );
    for (const f of summary.failed) console.log(`  failed ${f.id}: ${f.error}`);
    if (summary.failed.length > 0) process.exitCode = 2;
  });

program
  .command('query')
  .description('answer a question from a collection, with its numbered sources')
  .argument('<collection>', 'collection name', collectionName)
  .argument('<question>', 'the question')
  .option('-k, --top-k <n>', 'sources to use', (v) => Number.parseInt(v, 10), 5)
  .action(async (collection: string, question: string, options: { topK: number }) => {
    const response = await withApp((app) =>
      app
        .get(AnswerQueryHandler)
        .execute({ collection, query: question, topK: options.topK, mode: 'hybrid', stream: false }, 'cli'),
    );
    console.log(response.answer);
    if (response.citations.length > 0) console.log('\nSources:');
    for (const c of response.citations) {
      console.log(`[${c.index}] ${c.title ?? c.documentId} (${c.documentId}, score ${c.score.toFixed(4)})`);
      console.log(`    ${c.text.replace(/\s+/g, ' ').slice(0, 200)}${c.text.length > 200 ? '…' : ''}`);
    }
    if (response.degraded.length > 0) console.log(`\n(degraded: ${response.degraded.join(', ')})`);
  });

program
  .command('eval')
  .description('score retrieval on a BEIR-layout data set: nDCG@10, Recall@10, Recall@100, MRR@10')
  .argument('<beir-dir>', 'directory with corpus.jsonl, queries.jsonl and qrels/')
  .option('-c, --collection <name>', 'collection to ingest into and search', collectionName)
  .option('-m, --mode <modes>', 'comma-separated: hybrid, dense, sparse', modes, [
    'sparse',
    'dense',
    'hybrid',
  ] as SearchMode[])
  .option('-s, --split <split>', 'qrels split', 'test')
  .option('-o, --output <file>', 'write per-query results as JSON')
  .action(
    async (
      dir: string,
      options: { collection?: string; mode: SearchMode[]; split: string; output?: string },
    ) => {
      const collection =
        options.collection ??
        `beir-${dir.replace(/\/+$/, '').split('/').pop()}`.replace(/[^A-Za-z0-9_.-]/g, '-');
      const results = await withApp((app) =>
        evaluate(app.get<IngestionPort>(INGESTION_PORT), app.get<RetrievalPort>(RETRIEVAL_PORT), {
          dir,
          collection,
          modes: options.mode,
          split: options.split,
          progress: process.stderr.isTTY === true,
          output: options.output,
        }),
      );
      console.log(formatResults(results));
    },
  );

program.parseAsync().catch((error: Error) => {
  console.error(`ragnest: ${error.message}`);
  process.exit(1);
});
