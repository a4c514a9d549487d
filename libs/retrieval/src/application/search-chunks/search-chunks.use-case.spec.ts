import { describe, expect, it } from 'vitest';
import { AppError, SearchRequest, type SearchMode } from '#contracts';
import { ResilienceService, type AppConfig } from '#platform';
import { type Embedder, type EmbedderRegistry } from '#embeddings';
import type {
  ChunkSearchRepository,
  CollectionStats,
  ScoredChunk,
} from '../../infrastructure/chunk-search.repository.js';
import { DIMENSION_MISMATCH } from '../../domain/retrieval.errors.js';
import { SearchChunksUseCase } from './search-chunks.use-case.js';

const collection: CollectionStats = {
  id: '1',
  name: 'c',
  setId: 1,
  dimensions: 2,
  halfIndex: false,
  embeddingModel: 'm',
  analyzer: 'english',
  chunkCount: 3,
  tokenCount: 30,
  lexicalLayout: 'blocks',
};

/** Dense finds a then b; sparse finds c then a. Records which legs ran. */
function repository() {
  const legs: string[] = [];
  const repo = {
    collection: () => Promise.resolve(collection),
    dense: (): Promise<ScoredChunk[]> => {
      legs.push('dense');
      return Promise.resolve([
        { id: 'a', score: 0.9 },
        { id: 'b', score: 0.8 },
      ]);
    },
    sparse: (): Promise<ScoredChunk[]> => {
      legs.push('sparse');
      return Promise.resolve([
        { id: 'c', score: 3 },
        { id: 'a', score: 2 },
      ]);
    },
    hits: (_collection: unknown, ids: string[]) =>
      Promise.resolve(
        new Map(ids.map((id) => [id, { documentId: id, chunkId: id, title: null, text: id, metadata: {} }])),
      ),
  };
  return { repo: repo as unknown as ChunkSearchRepository, legs };
}

function embedders(embedQuery: () => Promise<number[]>, known = true): EmbedderRegistry {
  const embedder = { model: 'm', dimensions: 2, embedQuery } as unknown as Embedder;
  return {
    configured: embedder,
    get: () => (known ? embedder : undefined),
  } as unknown as EmbedderRegistry;
}

interface Fusion {
  fusion?: 'rrf' | 'score';
  denseWeight?: number;
}

const configWith = (fusion: Fusion = {}) =>
  ({
    retrieval: { fusion: 'rrf', rrfK: 60, denseWeight: 1, sparseWeight: 1, candidates: 10, ...fusion },
    embeddings: { queryTimeoutMs: 1000 },
    resilience: { breakerThreshold: 5, halfOpenMs: 5000, maxConcurrent: 64, maxQueued: 256 },
  }) as unknown as AppConfig;
const config = configWith();

const up = () => Promise.resolve([1, 0]);
const down = () => Promise.reject(Object.assign(new Error('500 scripted'), { status: 500 }));

function search(
  mode: SearchMode,
  registry: EmbedderRegistry,
  options: { explain?: boolean; fusion?: Fusion } = {},
) {
  const { repo, legs } = repository();
  const c = configWith(options.fusion);
  const handler = new SearchChunksUseCase(repo, registry, c, new ResilienceService(c));
  const request = { collection: 'c', query: 'Running dogs of the park', mode, topK: 5 };
  return {
    legs,
    result: handler.execute(
      SearchRequest.parse(options.explain === undefined ? request : { ...request, explain: options.explain }),
    ),
  };
}

describe('SearchChunksUseCase fallback to sparse search', () => {
  it('fuses both legs and reports nothing degraded when the embedder answers', async () => {
    const res = await search('hybrid', embedders(up)).result;
    expect(res.results.map((r) => r.chunkId)).toEqual(['a', 'c', 'b']);
    expect(res).not.toHaveProperty('degraded');
  });

  it('answers a hybrid search from the sparse leg alone when the embedder fails', async () => {
    const { result, legs } = search('hybrid', embedders(down));
    const res = await result;
    expect(res.results.map((r) => r.chunkId)).toEqual(['c', 'a']);
    expect(res.degraded).toEqual(['dense']);
    expect(legs).toEqual(['sparse']);
  });

  it('answers a hybrid search from the sparse leg when the collection’s vectors cannot be made here', async () => {
    const res = await search('hybrid', embedders(up, false)).result;
    expect(res.results.map((r) => r.chunkId)).toEqual(['c', 'a']);
    expect(res.degraded).toEqual(['dense']);
  });

  it('answers a dense search by sparse search when the embedder fails, and says so', async () => {
    const { result, legs } = search('dense', embedders(down));
    const res = await result;
    expect(res.results.map((r) => r.chunkId)).toEqual(['c', 'a']);
    expect(res.degraded).toEqual(['dense']);
    expect(legs).toEqual(['sparse']);
  });

  it('keeps the 409 of a dense search whose collection’s vectors cannot be made here', async () => {
    const { result, legs } = search('dense', embedders(up, false));
    await expect(result).rejects.toMatchObject({ code: DIMENSION_MISMATCH, status: 409 });
    expect(legs).toEqual([]);
  });

  it('lets a caller’s own 4xx through in hybrid mode', async () => {
    const invalid = () => Promise.reject(new AppError('RETRIEVAL.INVALID_FILTER', 'bad filter'));
    await expect(search('hybrid', embedders(invalid)).result).rejects.toMatchObject({ status: 400 });
  });

  it('bounds a hanging embedder by its timeout, then opens its circuit so later queries do not wait', async () => {
    const quick = {
      ...config,
      embeddings: { queryTimeoutMs: 50 },
      resilience: { breakerThreshold: 2, halfOpenMs: 60_000, maxConcurrent: 64, maxQueued: 256 },
    } as unknown as AppConfig;
    const hang = () => new Promise<number[]>(() => undefined);
    const handler = new SearchChunksUseCase(
      repository().repo,
      embedders(hang),
      quick,
      new ResilienceService(quick),
    );
    const run = async () => {
      const started = performance.now();
      const res = await handler.execute(
        SearchRequest.parse({ collection: 'c', query: 'q', mode: 'hybrid', topK: 5 }),
      );
      return { res, ms: performance.now() - started };
    };
    for (let i = 0; i < 2; i++) {
      const { res, ms } = await run();
      expect(res.degraded).toEqual(['dense']);
      expect(ms).toBeGreaterThanOrEqual(40);
    }
    // The circuit is open: the embedder is not waited for at all.
    const { res, ms } = await run();
    expect(res.degraded).toEqual(['dense']);
    expect(ms).toBeLessThan(30);
  });
});

/** Dense finds a then b; sparse c then a (dense weighs twice as much here). */
describe('SearchChunksUseCase explain', () => {
  it('explains a hybrid search: both retrievers, the fusion, and every hit in each list', async () => {
    const res = await search('hybrid', embedders(up), { explain: true, fusion: { denseWeight: 2 } }).result;
    expect(res.explain).toEqual({
      mode: 'hybrid',
      retrievers: {
        sparse: {
          query: 'Running dogs of the park',
          terms: [
            { term: 'run', weight: 1 },
            { term: 'dog', weight: 1 },
            { term: 'park', weight: 1 },
          ],
        },
        dense: { query: 'Running dogs of the park', model: 'm', dimensions: 2 },
      },
      fusion: { method: 'rrf', weights: { sparse: 1, dense: 2 }, k: 60 },
    });
    expect(res.results.map((r) => r.chunkId)).toEqual(['a', 'b', 'c']);
    expect(res.results.map((r) => r.explain!.fused)).toEqual(
      res.results.map((r, i) => ({ rank: i + 1, score: r.score })),
    );
    expect(res.results[0].explain!.retrievers).toEqual({
      sparse: { rank: 2, score: 2 },
      dense: { rank: 1, score: 0.9 },
    });
    expect(res.results[1].explain!.retrievers.sparse).toEqual({ rank: null, score: null });
    expect(res.results[2].explain!.retrievers.dense).toEqual({ rank: null, score: null });
  });

  it('names score fusion without an RRF k', async () => {
    const res = await search('hybrid', embedders(up), {
      explain: true,
      fusion: { fusion: 'score', denseWeight: 2 },
    }).result;
    expect(res.explain!.fusion).toEqual({ method: 'score', weights: { sparse: 1, dense: 2 } });
  });

  it('explains a single-leg search with that leg only and nothing fused', async () => {
    const sparse = await search('sparse', embedders(up), { explain: true, fusion: { denseWeight: 2 } })
      .result;
    expect(Object.keys(sparse.explain!.retrievers)).toEqual(['sparse']);
    expect(sparse.explain).not.toHaveProperty('fusion');
    expect(sparse.results.map((r) => r.explain)).toEqual([
      { retrievers: { sparse: { rank: 1, score: 3 } } },
      { retrievers: { sparse: { rank: 2, score: 2 } } },
    ]);
    const dense = await search('dense', embedders(up), { explain: true, fusion: { denseWeight: 2 } }).result;
    expect(Object.keys(dense.explain!.retrievers)).toEqual(['dense']);
    expect(dense.results.map((r) => r.explain!.retrievers.dense.rank)).toEqual([1, 2]);
    expect(dense.results.every((r) => !('fused' in r.explain!))).toBe(true);
  });

  it('reports what happened when the dense leg failed: the sparse leg alone, unfused, degraded', async () => {
    const res = await search('hybrid', embedders(down), { explain: true }).result;
    expect(res.explain).toMatchObject({ mode: 'hybrid', degraded: ['dense'] });
    expect(Object.keys(res.explain!.retrievers)).toEqual(['sparse']);
    expect(res.explain).not.toHaveProperty('fusion');
    expect(res.results.map((r) => r.explain)).toEqual([
      { retrievers: { sparse: { rank: 1, score: 3 } } },
      { retrievers: { sparse: { rank: 2, score: 2 } } },
    ]);
  });

  it('adds nothing when explain is not asked for', async () => {
    for (const explain of [undefined, false]) {
      const res = await search('hybrid', embedders(up), { explain }).result;
      expect(res).not.toHaveProperty('explain');
      expect(res.results.some((r) => 'explain' in r)).toBe(false);
    }
  });
});
