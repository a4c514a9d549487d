import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AppError, type SearchHit, type SearchRequest, type SearchResponse } from '#contracts';
import { CONFIG, type AppConfig, RequestBurst, ResilienceService } from '#platform';
import { Metrics, type RetrievalLeg, secondsSince, Tracing } from '#observability';
import { EMBEDDERS, type EmbedderRegistry } from '#embeddings';
import { englishAnalyzer, termFrequencies } from '#text-analysis';
import { reciprocalRankFusion, relativeScoreFusion } from '#search-index';
import {
  ChunkSearchRepository,
  type CollectionStats,
  type ScoredChunk,
} from '../../infrastructure/chunk-search.repository.js';
import { explainSearch } from './search-explain.js';
import { DIMENSION_MISMATCH, EMBEDDER_TIMEOUT } from '../../domain/retrieval.errors.js';

/** The name a search reports in `degraded` when it answered without its dense leg. */
export const DEGRADED_DENSE = 'dense';

/**
 * Dense, sparse (BM25) or hybrid search in one collection. Hybrid runs both legs concurrently, each
 * `candidates` deep, and fuses them by weighted reciprocal rank fusion.
 *
 * When the dense leg fails (the embedder or the vector query is down), the search answers from the
 * sparse leg alone and says so in `degraded`: keyword results beat no results. An explicit `dense`
 * search still fails with a 4xx it caused (a collection whose vectors this server cannot make is a
 * configuration problem the caller asked about); a hybrid search falls back on that too, since it asked
 * for the best ranking available, not for vectors.
 */
@Injectable()
export class SearchChunksUseCase {
  private readonly log = new Logger('SearchChunks');

  constructor(
    private readonly repository: ChunkSearchRepository,
    @Inject(EMBEDDERS) private readonly embedders: EmbedderRegistry,
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly resilience: ResilienceService,
    @Optional() metrics?: Metrics,
  ) {
    this.metrics = metrics ?? Metrics.detached();
  }

  private readonly metrics: Metrics;

  /** One burst of statements on the embedded database: its indexing waits for the whole search. */
  execute(request: SearchRequest): Promise<SearchResponse> {
    return RequestBurst.run(() => this.search(request));
  }

  private async search(request: SearchRequest): Promise<SearchResponse> {
    const started = performance.now();
    const collection = await this.repository.collection(request.collection);
    const depth = Math.max(request.topK, this.config.retrieval.candidates);
    const timings: Record<string, number> = {};
    // Each leg is a span (its SQL nests under it) and a sample of its latency histogram.
    const timed = async <T>(name: RetrievalLeg, fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await Tracing.inSpan(`retrieval.${name}`, {}, fn);
      } finally {
        timings[`${name}Ms`] = round(performance.now() - t);
        this.metrics.query.leg(name, secondsSince(t));
      }
    };

    const degraded: string[] = [];
    // The dense leg, or undefined when it failed in a way the sparse leg can stand in for.
    const denseOrFallback = async (limit: number): Promise<ScoredChunk[] | undefined> => {
      try {
        return await timed('dense', () => this.dense(collection, request.query, limit, request.filter));
      } catch (error) {
        const callerFault =
          error instanceof AppError &&
          error.status < 500 &&
          (request.mode === 'dense' || error.code !== DIMENSION_MISMATCH);
        if (callerFault) throw error;
        this.log.warn(`dense search failed, answering from sparse search: ${(error as Error).message}`);
        degraded.push(DEGRADED_DENSE);
        return undefined;
      }
    };

    // What each retriever answered; a leg that did not run or failed stays undefined.
    let dense: ScoredChunk[] | undefined;
    let sparse: ScoredChunk[] | undefined;
    const sparseSearch = (limit: number) =>
      timed('sparse', () => this.sparse(collection, request.query, limit, request.filter));
    if (request.mode === 'dense') {
      dense = await denseOrFallback(request.topK);
      if (!dense) sparse = await sparseSearch(request.topK);
    } else if (request.mode === 'sparse') {
      sparse = await sparseSearch(request.topK);
    } else {
      [dense, sparse] = await Promise.all([denseOrFallback(depth), sparseSearch(depth)]);
    }
    const fused = dense !== undefined && sparse !== undefined;
    const ranked = (dense && sparse ? this.fuse(dense, sparse) : (dense ?? sparse ?? [])).slice(
      0,
      request.topK,
    );

    const chunks = await timed('fetch', () =>
      this.repository.hits(
        collection,
        ranked.map((r) => r.id),
      ),
    );
    const explained = request.explain
      ? explainSearch(
          {
            request,
            collection,
            legs: { ...(dense && { dense }), ...(sparse && { sparse }) },
            ranked,
            fused,
            degraded,
          },
          this.config.retrieval,
        )
      : undefined;
    const results: SearchHit[] = [];
    for (const r of ranked) {
      const chunk = chunks.get(r.id);
      if (chunk)
        results.push({
          ...chunk,
          score: round(r.score, 6),
          ...(explained && { explain: explained.hits.get(r.id) }),
        });
    }
    timings.totalMs = round(performance.now() - started);
    const response: SearchResponse =
      degraded.length > 0 ? { results, timings, degraded } : { results, timings };
    return explained ? { ...response, explain: explained.search } : response;
  }

  private fuse(dense: ScoredChunk[], sparse: ScoredChunk[]): ScoredChunk[] {
    const { rrfK, denseWeight, sparseWeight, fusion } = this.config.retrieval;
    const fused =
      fusion === 'rrf'
        ? reciprocalRankFusion(
            [
              { weight: sparseWeight, ids: sparse.map((c) => c.id) },
              { weight: denseWeight, ids: dense.map((c) => c.id) },
            ],
            rrfK,
          )
        : relativeScoreFusion([
            { weight: sparseWeight, items: sparse },
            { weight: denseWeight, items: dense },
          ]);
    return fused.map((f) => ({ id: f.id, score: f.score }));
  }

  private async dense(
    collection: CollectionStats,
    query: string,
    limit: number,
    filter: SearchRequest['filter'],
  ) {
    // The query is embedded by the model of the vectors searched: the collection's until a re-index switches.
    const embedder = this.embedders.get(collection.embeddingModel, collection.dimensions);
    if (!embedder) {
      throw new AppError(
        DIMENSION_MISMATCH,
        `collection "${collection.name}" holds ${collection.embeddingModel} vectors of ${collection.dimensions} dimensions, ` +
          `which this server cannot make (its embedder is ${this.embedders.configured.model}); re-index the collection`,
      );
    }
    // The embedder is a call target of its own: bounded, and behind a breaker, so a dead or hanging
    // model costs the first queries its timeout and the next ones nothing while they fall back to BM25.
    const { queryTimeoutMs } = this.config.embeddings;
    const vector = await this.resilience.execute(`embedder.${embedder.model}`, async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          embedder.embedQuery(query),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new AppError(
                    EMBEDDER_TIMEOUT,
                    `${embedder.model} did not embed the query within ${queryTimeoutMs} ms`,
                  ),
                ),
              queryTimeoutMs,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    });
    if (vector.length !== collection.dimensions) {
      throw new AppError(
        DIMENSION_MISMATCH,
        `${collection.embeddingModel} returned a query vector of ${vector.length} dimensions, but collection "${collection.name}" holds ${collection.dimensions}`,
      );
    }
    if (!vector.some((v) => v !== 0)) return [];
    return this.repository.dense(collection, vector, limit, filter);
  }

  private sparse(collection: CollectionStats, query: string, limit: number, filter: SearchRequest['filter']) {
    return this.repository.sparse(collection, termFrequencies(englishAnalyzer.terms(query)), limit, filter);
  }
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
