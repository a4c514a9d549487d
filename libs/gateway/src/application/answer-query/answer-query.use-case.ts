import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  AppError,
  GENERATION_PORT,
  PRESENTATION_PORT,
  QUERY_UNDERSTANDING_PORT,
  RETRIEVAL_PORT,
  type GenerateRequest,
  type GenerationPort,
  type PresentationPort,
  type PresentResponse,
  type QueryBody,
  type QueryExplain,
  type QueryResponse,
  type QueryTimings,
  type QueryUnderstandingPort,
  type RetrievalPort,
  type SearchHit,
  type UnderstoodQuery,
} from '#contracts';
import { CONFIG, type AppConfig } from '#platform';
import { Metrics, type QueryStage, secondsSince, Tracing } from '#observability';
import { englishAnalyzer } from '#text-analysis';
import { ExtractiveGenerator } from '#extractive-answer';
import { AnswerCache, type AnswerCacheStatus, type CachedAnswer } from './answer-cache.port.js';
import { explainCitations, explainReranked } from './query-explain.js';
import {
  plainQuery,
  searchAhead,
  searchVariants,
  understandRequest,
  type RetrievedSources,
} from './retrieve-sources.js';

/** How many candidates retrieval hands the re-ranker for each answer source it keeps. */
const CANDIDATES_PER_SOURCE = 4;

export interface QueryProgress {
  /**
   * Called first, before any other callback: whether the answer comes from the cache. Called again with
   * `fallback` when the model failed and a cached answer to the same question takes its place.
   */
  onCache?(status: AnswerCacheStatus): void;
  /** Called once the sources are known, before generation starts (streaming sends them first). */
  onSources?(sources: SearchHit[]): void;
  /** When given, the answer is streamed: called with each piece as the model produces it. */
  onToken?: (text: string) => void;
  /** Aborted when the client went away: the model call is cancelled upstream. */
  signal?: AbortSignal;
}

/**
 * The query path: understand → retrieve → re-rank → generate → present, each stage reached through its
 * port only. A stage that fails with a server-side error falls back and is named in `degraded`; only
 * retrieval has no fallback, since an answer without sources would be made up (it answers 503
 * RETRIEVAL.UNAVAILABLE), though a search that lost its dense leg still answers, as `dense`. Complete answers are
 * cached (see AnswerCache), and a cached one is replayed through the same callbacks. When the model is
 * down, the ladder is: a cached answer to the same question (same collection and generation, other
 * options aside), else the extractive answer.
 */
@Injectable()
export class AnswerQueryUseCase {
  private readonly log = new Logger('AnswerQuery');
  private readonly fallbackGenerator = new ExtractiveGenerator({ analyzer: englishAnalyzer });

  constructor(
    @Inject(QUERY_UNDERSTANDING_PORT) private readonly understanding: QueryUnderstandingPort,
    @Inject(RETRIEVAL_PORT) private readonly retrieval: RetrievalPort,
    @Inject(GENERATION_PORT) private readonly generation: GenerationPort,
    @Inject(PRESENTATION_PORT) private readonly presentation: PresentationPort,
    private readonly cache: AnswerCache,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Optional() metrics?: Metrics,
  ) {
    this.metrics = metrics ?? Metrics.detached();
  }

  private readonly metrics: Metrics;

  async execute(body: QueryBody, requestId: string, progress: QueryProgress = {}): Promise<QueryResponse> {
    // An explain request bypasses the answer cache both ways: a cached answer was computed without
    // explain, and one with explain is not kept (nor replayed when the model is down, since no
    // generation is taken for it).
    const cacheable = !body.explain;
    const { answer: cached, generation } = cacheable ? await this.cache.lookup(body) : {};
    const cacheOutcome = cached ? 'hit' : cacheable && this.cache.enabled ? 'miss' : 'bypass';
    this.metrics.query.answerCache(cacheOutcome);
    progress.onCache?.(cacheOutcome);
    if (cached) {
      progress.onSources?.(cached.sources);
      for (const piece of words(cached.response.answer)) progress.onToken?.(piece);
      return { ...cached.response, requestId };
    }
    const started = performance.now();
    const degraded: string[] = [];
    const timings: QueryTimings = {
      understandMs: 0,
      retrieveMs: 0,
      rerankMs: 0,
      generateMs: 0,
      presentMs: 0,
      totalMs: 0,
    };
    // Each stage is a span (its calls nest under it) and a sample of its latency histogram.
    const stage = async <T>(name: keyof QueryTimings, fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const label = name.slice(0, -2) as QueryStage;
      try {
        return await Tracing.inSpan(`query.${label}`, {}, fn);
      } finally {
        timings[name] = round(performance.now() - t);
        this.metrics.query.stage(label, secondsSince(t));
      }
    };
    const fallback = async <T>(
      name: string,
      fn: () => Promise<T>,
      alternative: () => T | Promise<T>,
    ): Promise<T> => {
      try {
        return await fn();
      } catch (error) {
        if (error instanceof AppError && error.status < 500) throw error;
        this.log.warn(`${name} failed, falling back: ${(error as Error).message}`);
        degraded.push(name);
        return alternative();
      }
    };

    const candidateCount = body.topK * CANDIDATES_PER_SOURCE;
    const ahead = searchAhead(this.retrieval, body, candidateCount);
    const understood = await stage('understandMs', () =>
      fallback(
        'understanding',
        () => this.understanding.understand(understandRequest(body)),
        () => plainQuery(body),
      ),
    );
    // Understanding answered, but one of its LLM steps fell back to the plain question.
    if (understood.degraded) degraded.push('understanding');
    const query = understood.text;
    // With a search ahead, retrieveMs is what retrieval took beyond understanding: its cost to the answer.
    const retrieved = await stage('retrieveMs', () =>
      searchVariants(this.retrieval, body, understood, candidateCount, degraded, ahead),
    );
    const candidates = retrieved.hits;
    const sources = await stage('rerankMs', () =>
      fallback(
        'rerank',
        async () => (await this.retrieval.rerank({ query, topK: body.topK, hits: candidates })).results,
        () => candidates.slice(0, body.topK),
      ),
    );
    progress.onSources?.(sources);
    const generationRequest = {
      query,
      sources: sources.map((s, i) => ({ index: i + 1, title: s.title, text: s.text })),
    };
    const onToken = progress.onToken;
    const generated = await stage('generateMs', async (): Promise<Generated> =>
      onToken
        ? { answer: await this.streamAnswer(generationRequest, onToken, degraded, progress.signal) }
        : fallback(
            'generation',
            async () => ({ answer: (await this.generation.generate(generationRequest)).answer }),
            () => this.answerWithoutModel(body, generation, generationRequest),
          ),
    );
    if (generated.replay) {
      this.metrics.query.answerCache('fallback');
      progress.onCache?.('fallback');
      timings.totalMs = round(performance.now() - started);
      // The replayed answer was complete when computed; what it lacks now is a fresh generation.
      return { ...generated.replay.response, degraded: ['generation'], timings, requestId };
    }
    const answer = generated.answer;
    const presented = await stage('presentMs', () =>
      fallback(
        'presentation',
        () => this.presentation.present({ query, answer, sources }),
        (): PresentResponse => ({
          answer,
          citations: sources.map((s, i) => ({
            index: i + 1,
            documentId: s.documentId,
            chunkId: s.chunkId,
            title: s.title,
            text: s.text,
            score: s.score,
          })),
        }),
      ),
    );
    timings.totalMs = round(performance.now() - started);
    const response = { answer: presented.answer, citations: presented.citations, degraded, timings };
    if (retrieved.explain) {
      // The re-ranker answered unless its stage fell back to the fused order.
      const rerankAnswered = !degraded.includes('rerank');
      const reranked = rerankAnswered ? explainReranked(candidates, sources) : undefined;
      return {
        ...response,
        citations: explainCitations(response.citations, retrieved.explain.candidates, reranked),
        requestId,
        explain: this.explain(understood, retrieved.explain, rerankAnswered),
      };
    }
    if (cacheable) await this.cache.set(body, { response, sources }, generation);
    return { ...response, requestId };
  }

  private explain(
    understood: UnderstoodQuery,
    retrieved: NonNullable<RetrievedSources['explain']>,
    reranked: boolean,
  ): QueryExplain {
    const { original, text, language } = understood;
    return {
      query: { original, text, language, variants: retrieved.variants },
      searches: retrieved.searches,
      ...(retrieved.fusion && { fusion: retrieved.fusion }),
      // The provider configured; `degraded` when it failed and the fused order stood.
      rerank: { provider: this.config.rerank.provider, ...(!reranked && { degraded: true as const }) },
    };
  }

  /**
   * The model failed: a cached answer to the same question, or else the extractive one. A streamed
   * answer does not come here, since its sources, sent already, may not be those of a cached answer.
   */
  private async answerWithoutModel(
    body: QueryBody,
    generation: number | undefined,
    request: GenerateRequest,
  ): Promise<Generated> {
    const replay = await this.cache.fallback(body, generation);
    if (replay) return { answer: replay.response.answer, replay };
    return { answer: (await this.fallbackGenerator.generate(request)).answer };
  }

  /**
   * A streamed answer, its pieces handed on as they come. If the model fails before its first piece,
   * the extractive answer takes its place (as for a whole answer) and is streamed instead; once pieces
   * have reached the client there is no taking them back, so a failure then ends the stream with an
   * error. An aborted signal (the client went away) unsubscribes, which cancels the model call upstream.
   */
  private async streamAnswer(
    request: GenerateRequest,
    onToken: (text: string) => void,
    degraded: string[],
    signal?: AbortSignal,
  ): Promise<string> {
    let answer = '';
    const started = performance.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const subscription = this.generation.stream(request).subscribe({
          next: ({ text }) => {
            if (answer === '' && text !== '') this.metrics.query.timeToFirstToken(secondsSince(started));
            answer += text;
            onToken(text);
          },
          error: reject,
          complete: resolve,
        });
        signal?.addEventListener(
          'abort',
          () => {
            subscription.unsubscribe();
            reject(new Error('the client went away'));
          },
          { once: true },
        );
      });
      return answer;
    } catch (error) {
      if (answer !== '' || signal?.aborted || (error instanceof AppError && error.status < 500)) throw error;
      this.log.warn(`generation failed, falling back: ${(error as Error).message}`);
      degraded.push('generation');
      const fallback = (await this.fallbackGenerator.generate(request)).answer;
      for (const piece of words(fallback)) onToken(piece);
      return fallback;
    }
  }
}

/** An answer, and the cached answer it comes from when one stood in for the model. */
interface Generated {
  answer: string;
  replay?: CachedAnswer;
}

function words(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
