import { describe, expect, it } from 'vitest';
import { of, throwError } from 'rxjs';
import {
  AppError,
  QueryBody,
  type GenerateRequest,
  type GenerationPort,
  type PresentationPort,
  type QueryUnderstandingPort,
  type RetrievalPort,
  type SearchHit,
} from '#contracts';
import type { AppConfig } from '#platform';
import { MemoryAnswerCache } from '../../infrastructure/answer-cache/memory-answer.cache.js';
import type { AnswerCacheStatus } from './answer-cache.port.js';
import { AnswerQueryUseCase } from './answer-query.use-case.js';

const hit = (id: string, text: string): SearchHit => ({
  documentId: id,
  chunkId: `${id}#0`,
  score: 1,
  title: id,
  text,
  metadata: {},
});

const HITS = [
  hit('d1', 'Aspirin lowers the risk of a second stroke in most patients.'),
  hit('d2', 'Statins lower cholesterol.'),
];

/** Ports that answer as scripted, and record what the use case asked of them. */
function scripted(
  overrides: Partial<{ understanding: QueryUnderstandingPort; generation: GenerationPort }> = {},
) {
  const calls: string[] = [];
  const understanding: QueryUnderstandingPort = overrides.understanding ?? {
    understand: (request) => {
      calls.push('understand');
      return Promise.resolve({
        original: request.query,
        text: request.query,
        language: 'en',
        queries: [request.query],
      });
    },
  };
  const retrieval: RetrievalPort = {
    search: () => {
      calls.push('search');
      return Promise.resolve({ results: HITS, timings: {} });
    },
    rerank: (request) => {
      calls.push('rerank');
      return Promise.resolve({ results: [...request.hits].reverse().slice(0, request.topK), timings: {} });
    },
  };
  const generation: GenerationPort = overrides.generation ?? {
    generate: (request: GenerateRequest) => {
      calls.push('generate');
      return Promise.resolve({
        model: 'scripted',
        answer: `answer from ${request.sources.length} sources [1]`,
      });
    },
    stream: () => of({ text: 'streamed ' }, { text: 'answer [1]' }),
  };
  const presentation: PresentationPort = {
    present: (request) => {
      calls.push('present');
      return Promise.resolve({
        answer: request.answer,
        citations: request.sources.map((s, i) => ({
          index: i + 1,
          documentId: s.documentId,
          chunkId: s.chunkId,
          title: s.title,
          text: s.text,
          score: s.score,
        })),
      });
    },
  };
  const cache = new MemoryAnswerCache({ maxEntries: 10, ttlMs: 60_000 });
  const config = { rerank: { provider: 'none' } } as unknown as AppConfig;
  const useCase = new AnswerQueryUseCase(understanding, retrieval, generation, presentation, cache, config);
  return { useCase, calls, cache };
}

const body = (fields: Record<string, unknown> = {}) =>
  QueryBody.parse({ collection: 'papers', query: 'does aspirin prevent stroke?', topK: 2, ...fields });

describe('AnswerQueryUseCase', () => {
  it('runs understand → retrieve → rerank → generate → present, each through its port', async () => {
    const { useCase, calls } = scripted();
    const response = await useCase.execute(body(), 'req-1');
    expect(calls).toEqual(['search', 'understand', 'rerank', 'generate', 'present']);
    expect(response.answer).toBe('answer from 2 sources [1]');
    expect(response.citations.map((c) => c.documentId)).toEqual(['d2', 'd1']);
    expect(response.degraded).toEqual([]);
    expect(response.requestId).toBe('req-1');
  });

  it('replays a complete answer from the cache, without calling any stage again', async () => {
    const { useCase, calls } = scripted();
    const statuses: AnswerCacheStatus[] = [];
    const first = await useCase.execute(body(), 'req-1', { onCache: (s) => statuses.push(s) });
    calls.length = 0;
    const second = await useCase.execute(body(), 'req-2', { onCache: (s) => statuses.push(s) });
    expect(statuses).toEqual(['miss', 'hit']);
    expect(calls).toEqual([]);
    expect(second).toEqual({ ...first, requestId: 'req-2' });
  });

  it('falls back to the extractive answer when generation fails, and says so', async () => {
    const { useCase } = scripted({
      generation: {
        generate: () => Promise.reject(new Error('model down')),
        stream: () => throwError(() => new Error('model down')),
      },
    });
    const response = await useCase.execute(body(), 'req-1');
    expect(response.degraded).toEqual(['generation']);
    expect(response.answer).toMatch(/^Aspirin lowers the risk of a second stroke in most patients\. \[2\]/);
  });

  it('searches the question as typed when understanding fails', async () => {
    const { useCase } = scripted({
      understanding: { understand: () => Promise.reject(new Error('understanding down')) },
    });
    const response = await useCase.execute(body(), 'req-1');
    expect(response.degraded).toEqual(['understanding']);
    expect(response.answer).toBe('answer from 2 sources [1]');
  });

  it('passes a client error of a stage on instead of falling back', async () => {
    const invalid = new AppError('GATEWAY.VALIDATION_FAILED', 'no');
    const { useCase } = scripted({ understanding: { understand: () => Promise.reject(invalid) } });
    await expect(useCase.execute(body(), 'req-1')).rejects.toBe(invalid);
  });

  it('streams the answer piece by piece when asked to', async () => {
    const { useCase } = scripted();
    const pieces: string[] = [];
    const response = await useCase.execute(body(), 'req-1', { onToken: (t) => pieces.push(t) });
    expect(pieces).toEqual(['streamed ', 'answer [1]']);
    expect(response.answer).toBe('streamed answer [1]');
  });
});
