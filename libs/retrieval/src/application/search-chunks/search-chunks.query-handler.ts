import { Inject, Injectable } from '@nestjs/common';
import { AppError, type SearchHit, type SearchRequest, type SearchResponse } from '#contracts';
import {
  CONFIG,
  type AppConfig,
  EMBEDDERS,
  type EmbedderRegistry,
  englishAnalyzer,
  termFrequencies,
} from '#platform';
import { reciprocalRankFusion, relativeScoreFusion } from '../../domain/fusion.js';
import {
  ChunkSearchRepository,
  type CollectionStats,
  type ScoredChunk,
} from '../../infrastructure/chunk-search.repository.js';

export const DIMENSION_MISMATCH = 'RETRIEVAL.DIMENSION_MISMATCH';

/**
 * Dense, sparse (BM25) or hybrid search in one collection. Hybrid runs both legs concurrently, each
 * `candidates` deep, and fuses them by weighted reciprocal rank fusion.
 */
@Injectable()
export class SearchChunksHandler {
  constructor(
    private readonly repository: ChunkSearchRepository,
    @Inject(EMBEDDERS) private readonly embedders: EmbedderRegistry,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async execute(request: SearchRequest): Promise<SearchResponse> {
    const started = performance.now();
    const collection = await this.repository.collection(request.collection);
    const depth = Math.max(request.topK, this.config.retrieval.candidates);
    const timings: Record<string, number> = {};
    const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await fn();
      } finally {
        timings[`${name}Ms`] = round(performance.now() - t);
      }
    };

    let ranked: ScoredChunk[];
    if (request.mode === 'dense') {
      ranked = await timed('dense', () =>
        this.dense(collection, request.query, request.topK, request.filter),
      );
    } else if (request.mode === 'sparse') {
      ranked = await timed('sparse', () =>
        this.sparse(collection, request.query, request.topK, request.filter),
      );
    } else {
      const [dense, sparse] = await Promise.all([
        timed('dense', () => this.dense(collection, request.query, depth, request.filter)),
        timed('sparse', () => this.sparse(collection, request.query, depth, request.filter)),
      ]);
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
      ranked = fused.slice(0, request.topK).map((f) => ({ id: f.id, score: f.score }));
    }

    const chunks = await timed('fetch', () => this.repository.hits(ranked.map((r) => r.id)));
    const results: SearchHit[] = [];
    for (const r of ranked) {
      const chunk = chunks.get(r.id);
      if (chunk) results.push({ ...chunk, score: round(r.score, 6) });
    }
    timings.totalMs = round(performance.now() - started);
    return { results, timings };
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
        409,
      );
    }
    const vector = await embedder.embedQuery(query);
    if (vector.length !== collection.dimensions) {
      throw new AppError(
        DIMENSION_MISMATCH,
        `${collection.embeddingModel} returned a query vector of ${vector.length} dimensions, but collection "${collection.name}" holds ${collection.dimensions}`,
        409,
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
