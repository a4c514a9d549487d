import { Counter, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from './http.metrics.js';

/** The stages of a query as the gateway times them (its `timings`). */
export type QueryStage = 'understand' | 'retrieve' | 'rerank' | 'generate' | 'present';
/** The parts of one search in the retrieval context. */
export type RetrievalLeg = 'dense' | 'sparse' | 'fetch';
/** What the answer cache did for a query: served it, missed, was skipped (explain), or stood in for the model. */
export type AnswerCacheOutcome = 'hit' | 'miss' | 'bypass' | 'fallback';

/** Where the time of a query goes: its stages, the legs of its search, the first token, the cache. */
export class QueryMetrics {
  private readonly stages: Histogram<'stage'>;
  private readonly legs: Histogram<'leg'>;
  private readonly firstToken: Histogram;
  private readonly cache: Counter<'outcome'>;

  constructor(registry: Registry) {
    this.stages = new Histogram({
      name: 'ragnest_query_stage_duration_seconds',
      help: 'Time of each stage of a query as the gateway sees it (understand, retrieve, rerank, generate, present).',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.legs = new Histogram({
      name: 'ragnest_retrieval_leg_duration_seconds',
      help: 'Time of each part of a search: the dense (vector) leg, the sparse (BM25) leg, fetching the hits.',
      labelNames: ['leg'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.firstToken = new Histogram({
      name: 'ragnest_generation_time_to_first_token_seconds',
      help: 'Time from a streamed generation starting to its first piece of answer reaching the gateway.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.cache = new Counter({
      name: 'ragnest_answer_cache_requests_total',
      help: 'Queries by what the answer cache did: hit, miss, bypass (explain), fallback (stood in for a failed model).',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }

  stage(stage: QueryStage, seconds: number): void {
    this.stages.observe({ stage }, seconds);
  }

  leg(leg: RetrievalLeg, seconds: number): void {
    this.legs.observe({ leg }, seconds);
  }

  timeToFirstToken(seconds: number): void {
    this.firstToken.observe(seconds);
  }

  answerCache(outcome: AnswerCacheOutcome): void {
    this.cache.inc({ outcome });
  }
}
