import { describe, expect, it } from 'vitest';
import { SearchRequest, type SearchMode } from '#contracts';
import { ResilienceService, type AppConfig, type Embedder, type EmbedderRegistry } from '#platform';
import type {
  ChunkSearchRepository,
  CollectionStats,
  ScoredChunk,
} from '../../infrastructure/chunk-search.repository.js';
import { SearchChunksHandler } from './search-chunks.query-handler.js';

/** `explain` as SearchChunksHandler returns it, over a scripted index: dense finds a then b; sparse c then a. */

const collection: CollectionStats = {
  id: '1',
  name: 'c',
  setId: 1,
  dimensions: 2,
  embeddingModel: 'hash-2',
  analyzer: 'english',
  chunkCount: 3,
  tokenCount: 30,
};

const repository = {
  collection: () => Promise.resolve(collection),
  dense: (): Promise<ScoredChunk[]> =>
    Promise.resolve([
      { id: 'a', score: 0.9 },
      { id: 'b', score: 0.8 },
    ]),
  sparse: (): Promise<ScoredChunk[]> =>
    Promise.resolve([
      { id: 'c', score: 3 },
      { id: 'a', score: 2 },
    ]),
  hits: (ids: string[]) =>
    Promise.resolve(
      new Map(ids.map((id) => [id, { documentId: id, chunkId: id, title: null, text: id, metadata: {} }])),
    ),
} as unknown as ChunkSearchRepository;

function embedders(embedQuery: () => Promise<number[]>): EmbedderRegistry {
  const embedder = { model: 'hash-2', dimensions: 2, embedQuery } as unknown as Embedder;
  return { configured: embedder, get: () => embedder } as unknown as EmbedderRegistry;
}

const config = (fusion: 'rrf' | 'score' = 'rrf') =>
  ({
    retrieval: { fusion, rrfK: 60, denseWeight: 2, sparseWeight: 1, candidates: 10 },
    embeddings: { queryTimeoutMs: 1000 },
    resilience: { breakerThreshold: 5, halfOpenMs: 5000, maxConcurrent: 64, maxQueued: 256 },
  }) as unknown as AppConfig;

const up = () => Promise.resolve([1, 0]);
const down = () => Promise.reject(Object.assign(new Error('500 scripted'), { status: 500 }));

function search(
  mode: SearchMode,
  options: { explain?: boolean; embed?: () => Promise<number[]>; fusion?: 'rrf' | 'score' } = {},
) {
  const c = config(options.fusion);
  const handler = new SearchChunksHandler(
    repository,
    embedders(options.embed ?? up),
    c,
    new ResilienceService(c),
  );
  const request = { collection: 'c', query: 'Running dogs of the park', mode, topK: 5 };
  return handler.execute(
    SearchRequest.parse(options.explain === undefined ? request : { ...request, explain: options.explain }),
  );
}

describe('SearchChunksHandler explain', () => {
  it('explains a hybrid search: both retrievers, the fusion, and every hit in each list', async () => {
    const res = await search('hybrid', { explain: true });
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
        dense: { query: 'Running dogs of the park', model: 'hash-2', dimensions: 2 },
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
    const res = await search('hybrid', { explain: true, fusion: 'score' });
    expect(res.explain!.fusion).toEqual({ method: 'score', weights: { sparse: 1, dense: 2 } });
  });

  it('explains a single-leg search with that leg only and nothing fused', async () => {
    const sparse = await search('sparse', { explain: true });
    expect(Object.keys(sparse.explain!.retrievers)).toEqual(['sparse']);
    expect(sparse.explain).not.toHaveProperty('fusion');
    expect(sparse.results.map((r) => r.explain)).toEqual([
      { retrievers: { sparse: { rank: 1, score: 3 } } },
      { retrievers: { sparse: { rank: 2, score: 2 } } },
    ]);
    const dense = await search('dense', { explain: true });
    expect(Object.keys(dense.explain!.retrievers)).toEqual(['dense']);
    expect(dense.results.map((r) => r.explain!.retrievers.dense.rank)).toEqual([1, 2]);
    expect(dense.results.every((r) => !('fused' in r.explain!))).toBe(true);
  });

  it('reports what happened when the dense leg failed: the sparse leg alone, unfused, degraded', async () => {
    const res = await search('hybrid', { explain: true, embed: down });
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
      const res = await search('hybrid', { explain });
      expect(res).not.toHaveProperty('explain');
      expect(res.results.some((r) => 'explain' in r)).toBe(false);
    }
  });
});
