// The search floor: the SQL that ragnest's retrieval context sends for one /rag/search, sent straight to
// PostgreSQL from this process through a pg Pool, with no HTTP, no NestJS and no validation in between.
// It is ragnest's own ChunkSearchRepository (from dist/), built over the pool instead of TypeORM, and the
// steps of SearchChunksUseCase mirrored: the collection row, then the dense leg, the sparse leg or both
// `candidates` deep in parallel (fused as the handler fuses them), then the hits' rows. The pool has the
// server's size and session settings (postgresSessionOptions). Query vectors and terms are made
// before timing, so the floor is the database's share of a search; API p50 / floor p50 is the rest.
//
// Used by run.mjs; needs `npm run build`.

import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { dataSourceOf, REPO_ROOT, runLoad, summarise } from './lib.mjs';

const DIST = join(REPO_ROOT, 'dist/libs');
const TOP_K = 10;

async function importDist(path) {
  const file = join(DIST, path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return import(pathToFileURL(file).href);
}

/**
 * Opens the floor on `databaseUrl` for collection `collection`, with the configuration a server started
 * with `serverEnv` would read. Returns `measure(mode, concurrency, queries, warmup)` → a row shaped like
 * the API's (summarise), and `close()`.
 */
export async function openSearchFloor({ databaseUrl, collection, serverEnv = {} }) {
  const [platform, textAnalysis, { HashingEmbedder }, { LexicalIndex }, { ChunkSearchRepository }, fusion] =
    await Promise.all([
      importDist('platform/src/index.js'),
      importDist('text-analysis/src/index.js'),
      importDist('embeddings/src/index.js'),
      importDist('search-index/src/index.js'),
      importDist('retrieval/src/infrastructure/chunk-search.repository.js'),
      importDist('search-index/src/fusion/fusion.js'),
    ]);
  const config = platform.loadConfig({ ...process.env, ...serverEnv, DATABASE_URL: databaseUrl });
  const options = platform.postgresSessionOptions(config);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: config.database.poolSize, options });
  // ChunkSearchRepository only calls db.query(sql, params) and reads the rows, as TypeORM returns them,
  // and runs the sparse leg's statements in one repeatable-read transaction, as TypeORM's does.
  const db = dataSourceOf(pool);
  const repository = new ChunkSearchRepository(db, new LexicalIndex(config), config);
  try {
    const stats = await repository.collection(collection);
    const embedder = new HashingEmbedder({ dimensions: stats.dimensions });
    if (embedder.model !== stats.embeddingModel)
      throw new Error(
        `the floor embeds with ${embedder.model}, but collection "${collection}" holds ${stats.embeddingModel} vectors`,
      );
    const prepared = new Map();
    const prepare = async (query) => {
      if (!prepared.has(query)) {
        prepared.set(query, {
          vector: await embedder.embedQuery(query),
          terms: textAnalysis.termFrequencies(textAnalysis.englishAnalyzer.terms(query)),
        });
      }
      return prepared.get(query);
    };

    const fuse = (dense, sparse) => {
      const { rrfK, denseWeight, sparseWeight, fusion: kind } = config.retrieval;
      const fused =
        kind === 'rrf'
          ? fusion.reciprocalRankFusion(
              [
                { weight: sparseWeight, ids: sparse.map((c) => c.id) },
                { weight: denseWeight, ids: dense.map((c) => c.id) },
              ],
              rrfK,
            )
          : fusion.relativeScoreFusion([
              { weight: sparseWeight, items: sparse },
              { weight: denseWeight, items: dense },
            ]);
      return fused.map((f) => ({ id: f.id, score: f.score }));
    };
    const dense = (c, vector, limit) =>
      vector.some((v) => v !== 0) ? repository.dense(c, vector, limit) : Promise.resolve([]);

    /** One search as SearchChunksUseCase.execute runs it, minus embedding the query. */
    const search = async (mode, { vector, terms }) => {
      const c = await repository.collection(collection);
      const depth = Math.max(TOP_K, config.retrieval.candidates);
      let ranked;
      if (mode === 'dense') ranked = await dense(c, vector, TOP_K);
      else if (mode === 'sparse') ranked = await repository.sparse(c, terms, TOP_K);
      else {
        const [d, s] = await Promise.all([dense(c, vector, depth), repository.sparse(c, terms, depth)]);
        ranked = fuse(d, s).slice(0, TOP_K);
      }
      const hits = await repository.hits(
        c,
        ranked.map((r) => r.id),
      );
      return ranked.filter((r) => hits.has(r.id)).length;
    };

    return {
      async measure(mode, concurrency, queries, warmupCount) {
        const items = await Promise.all(queries.map(prepare));
        const send = async (item) => {
          await search(mode, item);
          return { status: 200, text: '' };
        };
        const warmup = Array.from({ length: warmupCount }, (_, i) => items[i % items.length]);
        await runLoad(warmup, concurrency, send);
        return summarise('SQL floor', mode, concurrency, await runLoad(items, concurrency, send));
      },
      close: () => pool.end(),
    };
  } catch (error) {
    await pool.end();
    throw error;
  }
}
