import { Command, InvalidArgumentError, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import {
  INGESTION_PORT,
  RETRIEVAL_PORT,
  type IngestionPort,
  type RetrievalPort,
  COLLECTION_NAME,
  type SearchMode,
} from '#contracts';
import { type AppConfig, CONFIG, loadConfig, openDatabase } from '#platform';
import { AnswerQueryUseCase } from '#gateway';
import { createApp, serve } from '#app';
import { compareReports, datasetName, formatComparison, parseEvalReport } from './src/compare.js';
import { DEFAULT_EVAL_MODES, EVAL_MODES, type EvalMode, isEvalMode } from './src/eval-modes.js';
import { evaluate, formatResults } from './src/evaluate.js';
import { ingestDocuments } from './src/ingest-files.js';
import { expandPaths, InputError, isUrl, readDocuments, urlDocument } from './src/load-documents.js';
import { printResults, printSources } from './src/print-answer.js';
import { keysCommand } from './src/keys-command.js';
import { RemoteClient } from './src/remote-client.js';
import { registerMcpCommand } from './src/mcp-command.js';

/**
 * The ragnest command line. Every command but `serve` runs the contexts in this process, on the same
 * configuration as the server (DATABASE_URL or the embedded database in DATA_DIR), or, with `--url` (or
 * RAGNEST_URL), `ingest`, `search`, `query` and `status` ask a running server over HTTP instead.
 */
function collectionName(value: string): string {
  if (!COLLECTION_NAME.test(value))
    throw new InvalidArgumentError('a collection name is 1-128 letters, digits, ".", "_" or "-"');
  return value;
}

function modes(value: string): EvalMode[] {
  const list = value.split(',').map((m) => m.trim());
  return list.map((m) => {
    if (!isEvalMode(m)) throw new InvalidArgumentError(`unknown mode "${m}" (${EVAL_MODES.join(', ')})`);
    return m;
  });
}

function count(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

async function readReport(file: string) {
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new InputError(`cannot read ${file}: ${error.message}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`${file} is not a ragnest eval output (not JSON)`);
  }
  return parseEvalReport(json, file);
}

interface EvalCommandOptions {
  collection?: string;
  mode: EvalMode[];
  split: string;
  docs?: number;
  queries?: number;
  output?: string;
  compare?: string[];
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
  .addOption(
    new Option(
      '--url <url>',
      'a running ragnest to talk to (ingest, search, query, status); its key is read from RAGNEST_API_KEY',
    ).env('RAGNEST_URL'),
  )
  .showHelpAfterError();

/** The server named by --url / RAGNEST_URL, if any: the commands that can ask it then do. */
function remote(): RemoteClient | undefined {
  const { url } = program.opts<{ url?: string }>();
  return url ? new RemoteClient(url, process.env.RAGNEST_API_KEY) : undefined;
}

program
  .command('serve')
  .description('serve the HTTP API (RAG_CONTEXTS decides which contexts this process hosts)')
  .action(async () => {
    await serve(loadConfig());
  });

program
  .command('migrate')
  .description(
    'apply pending database migrations and exit (whatever DATABASE_MIGRATE says): the step that runs ' +
      "before serving processes started with DATABASE_MIGRATE=false, e.g. the Helm chart's hook Job",
  )
  .action(async () => {
    const config = loadConfig();
    const db = await openDatabase({ ...config, database: { ...config.database, migrate: true } });
    await db.close();
  });

program
  .command('ingest')
  .description(
    'ingest files (txt, md, html, pdf, docx, pptx, xlsx, csv, json/jsonl of {id,text,title,metadata}, ' +
      'BEIR corpus.jsonl) and http(s) URLs of pages or sitemaps',
  )
  .argument('<collection>', 'collection name', collectionName)
  .argument('<paths...>', 'files, directories, globs or URLs')
  .action(async (collection: string, paths: string[]) => {
    const urls = paths.filter(isUrl);
    const files = urls.length === paths.length ? [] : await expandPaths(paths.filter((p) => !isUrl(p)));
    const documents = [...(await Promise.all(files.map(readDocuments))).flat(), ...urls.map(urlDocument)];
    const options = { progress: process.stderr.isTTY === true };
    const server = remote();
    const summary = server
      ? await ingestDocuments(server, collection, documents, options)
      : await withApp((app) =>
          ingestDocuments(app.get<IngestionPort>(INGESTION_PORT), collection, documents, options),
        );
    console.log(
      `${summary.indexed} indexed, ${summary.unchanged} unchanged, ${summary.failed.length} failed ` +
        `(${documents.length} documents from ${files.length} files in ${summary.seconds.toFixed(1)} s)` +
        (summary.stalled > 0 ? `; up to ${summary.stalled} stalled on the way, then repaired` : ''),
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
    const server = remote();
    if (server) {
      // Printed as the server streams it, token by token.
      const done = await server.query(
        { collection, query: question, topK: options.topK },
        { onToken: (text) => process.stdout.write(text) },
      );
      process.stdout.write('\n');
      printSources(done.citations, done.degraded);
      return;
    }
    const response = await withApp((app) =>
      app
        .get(AnswerQueryUseCase)
        .execute({ collection, query: question, topK: options.topK, mode: 'hybrid', stream: false }, 'cli'),
    );
    console.log(response.answer);
    printSources(response.citations, response.degraded);
  });

program
  .command('search')
  .description('the chunks of a collection that best match a query, best first')
  .argument('<collection>', 'collection name', collectionName)
  .argument('<query>', 'what to look for')
  .option('-k, --top-k <n>', 'results', (v) => Number.parseInt(v, 10), 10)
  .addOption(
    new Option('-m, --mode <mode>', 'search mode').choices(['hybrid', 'dense', 'sparse']).default('hybrid'),
  )
  .action(async (collection: string, query: string, options: { topK: number; mode: SearchMode }) => {
    const request = { collection, query, topK: options.topK, mode: options.mode };
    const server = remote();
    printResults(
      server
        ? await server.search(request)
        : await withApp((app) => app.get<RetrievalPort>(RETRIEVAL_PORT).search(request)),
    );
  });

program
  .command('status')
  .description("a collection's documents by status, its chunks, and any re-index or stall")
  .argument('<collection>', 'collection name', collectionName)
  .action(async (collection: string) => {
    const server = remote();
    const view = server
      ? await server.getCollection({ collection })
      : await withApp((app) => app.get<IngestionPort>(INGESTION_PORT).getCollection({ collection }));
    console.log(JSON.stringify(view, null, 2));
  });

program
  .command('eval')
  .description(
    'score retrieval on a BEIR-layout data set (nDCG@10, Recall@10, Recall@100, MRR@10), ' +
      'or compare two scored runs with --compare',
  )
  .argument('[beir-dir]', 'directory with corpus.jsonl, queries.jsonl and qrels/ (not with --compare)')
  .option(
    '-c, --collection <name>',
    'collection to ingest into and search (default: beir-<data set>[-<split>-docs<n>])',
    collectionName,
  )
  .addOption(
    new Option(
      '-m, --mode <modes>',
      `comma-separated: ${EVAL_MODES.join(', ')} (hybrid search, then the re-ranking stage on the ` +
        'first RERANK_MAX_DOCUMENTS fused chunks)',
    )
      .argParser(modes)
      .default(DEFAULT_EVAL_MODES, DEFAULT_EVAL_MODES.join(',')),
  )
  .option('-s, --split <split>', 'qrels split', 'test')
  .option(
    '--docs <n>',
    "a subset: the documents the split's qrels judge, plus the first <n> others of corpus.jsonl",
    count,
  )
  .option('--queries <n>', 'a subset: the first <n> queries of the split, in qrels order', count)
  .option('-o, --output <file>', 'write per-query results (with query texts) as JSON, for --compare')
  .option(
    '--compare <files...>',
    'compare two --output files, a.json b.json: means, per-query changes, p-value',
  )
  .addHelpText(
    'after',
    `
Examples:
  ragnest eval ../datasets/scifact --output before.json
  ragnest eval ../datasets/scifact --docs 2000 --queries 100 --mode hybrid,hybrid-rerank -o after.json
  ragnest eval --compare before.json after.json

--compare prints, for each mode in both files, the metric means of a and b and their difference, how
many queries' nDCG@10 improved, worsened or stayed the same, a paired randomization test p-value on
nDCG@10 (10000 permutations, fixed seed) and the 10 queries that gained and lost most. It refuses files
of different data sets, splits or subsets.`,
  )
  .action(async (dir: string | undefined, options: EvalCommandOptions) => {
    if (options.compare) {
      if (options.compare.length !== 2)
        throw new InputError(
          `--compare takes two eval outputs, a.json b.json (got ${options.compare.length})`,
        );
      if (dir !== undefined)
        throw new InputError('--compare takes no <beir-dir>: the files say what was scored');
      const [a, b] = await Promise.all(options.compare.map(readReport));
      console.log(formatComparison(a, b, compareReports(a, b)));
      return;
    }
    if (dir === undefined) throw new InputError('eval needs a <beir-dir> (or --compare a.json b.json)');
    const subset = options.docs === undefined ? '' : `-${options.split}-docs${options.docs}`;
    const collection =
      options.collection ??
      `beir-${datasetName(dir)}${subset}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 128);
    const results = await withApp((app) =>
      evaluate(app.get<IngestionPort>(INGESTION_PORT), app.get<RetrievalPort>(RETRIEVAL_PORT), {
        dir,
        collection,
        modes: options.mode,
        split: options.split,
        docs: options.docs,
        queries: options.queries,
        progress: process.stderr.isTTY === true,
        output: options.output,
        rerankDocuments: app.get<AppConfig>(CONFIG).rerank.maxDocuments,
      }),
    );
    console.log(formatResults(results));
  });

program.addCommand(keysCommand());
registerMcpCommand(program);

program.parseAsync().catch((error: Error) => {
  console.error(`ragnest: ${error.message}`);
  process.exit(1);
});
