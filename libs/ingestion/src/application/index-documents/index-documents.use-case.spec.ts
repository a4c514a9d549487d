import { describe, expect, it } from 'vitest';
import type { EventBus } from '@nestjs/cqrs';
import { DocumentIngested, type DocumentStage } from '#contracts';
import { loadConfig } from '#platform';
import { type EmbedderRegistry } from '#embeddings';
import type { DocumentJob, DocumentSource } from '../../domain/document-job.js';
import {
  EmbeddingSetsChangedError,
  type ChunkRepository,
  type IndexedChunk,
} from '../../infrastructure/chunk.repository.js';
import type { EmbeddingSet, EmbeddingSetRepository } from '../../infrastructure/embedding-set.repository.js';
import type { JobStateRepository } from '../../infrastructure/job-state.repository.js';
import type { UrlSourceReader } from './url-source.reader.js';
import type { UploadPartsRepository } from '../../infrastructure/uploads/upload-parts.repository.js';
import { IndexDocumentsUseCase, TransientIndexingError } from './index-documents.use-case.js';

const SET: EmbeddingSet = {
  id: 7,
  collectionId: 'c1',
  model: 'scripted',
  dimensions: 3,
  state: 'active',
  indexed: false,
  indexPrecision: 'half',
  error: null,
};

const source = (id: string, text: string): DocumentSource => ({
  documentId: id,
  version: 1,
  collectionId: 'c1',
  collection: 'papers',
  externalId: `doc-${id}`,
  title: null,
  metadata: {},
  sourceKind: 'text',
  sourceText: text,
  sourceBytes: null,
  sourceBlob: null,
});

type Batch = { source: DocumentSource; chunks: IndexedChunk[] }[];

/**
 * The use case over scripted ports: the job states, chunk and set repositories, an embedder that
 * answers fixed vectors (or fails as told), and an event bus, each recording what it was asked.
 */
function scripted(
  sources: DocumentSource[],
  script: { embed?: () => Promise<number[][]>; replace?: (batch: Batch) => Promise<DocumentJob[]> } = {},
) {
  const log: string[] = [];
  const written: Batch[] = [];
  const published: unknown[] = [];
  const jobStates = {
    startProcessing: (started: DocumentJob[], stage: DocumentStage) => {
      log.push(`${stage}:${started.map((j) => j.documentId).join(',')}`);
      return Promise.resolve(sources);
    },
    recordStage: (jobs: DocumentJob[], stage: DocumentStage) => {
      log.push(`${stage}:${jobs.map((j) => j.documentId).join(',')}`);
      return Promise.resolve();
    },
    requeue: (jobs: DocumentJob[]) => {
      log.push(`requeue:${jobs.map((j) => j.documentId).join(',')}`);
      return Promise.resolve();
    },
    markFailed: (job: DocumentJob, error: string) => {
      log.push(`failed:${job.documentId}:${error}`);
      return Promise.resolve();
    },
  } as unknown as JobStateRepository;
  const chunks = {
    previousVectors: () => Promise.resolve(new Map()),
    replaceChunks: (batch: Batch) => {
      written.push(batch);
      return script.replace
        ? script.replace(batch)
        : Promise.resolve(batch.map((b) => ({ documentId: b.source.documentId, version: 1 })));
    },
  } as unknown as ChunkRepository;
  const sets = { writableSets: () => Promise.resolve([SET]) } as unknown as EmbeddingSetRepository;
  const embedder = {
    model: 'scripted',
    dimensions: 3,
    embedDocuments: (texts: string[]) =>
      script.embed ? script.embed() : Promise.resolve(texts.map(() => [1, 0, 0])),
  };
  const embedders = { get: () => embedder } as unknown as EmbedderRegistry;
  const events = { publish: (event: unknown) => published.push(event) } as unknown as EventBus;
  // No source here is a URL: the reader is never asked.
  const urls = {} as UrlSourceReader;
  const uploads = { releaseIndexed: () => Promise.resolve() } as unknown as UploadPartsRepository;
  const useCase = new IndexDocumentsUseCase(
    jobStates,
    chunks,
    sets,
    embedders,
    loadConfig({}),
    events,
    urls,
    uploads,
  );
  return { useCase, log, written, published };
}

const jobs = (...ids: string[]): DocumentJob[] => ids.map((documentId) => ({ documentId, version: 1 }));

describe('IndexDocumentsUseCase', () => {
  it('extracts, chunks, embeds and indexes a batch, recording each stage, then announces it', async () => {
    const { useCase, log, written, published } = scripted([source('1', 'Aspirin prevents strokes.')]);
    const done = await useCase.execute(jobs('1'));
    expect(done.map((s) => s.documentId)).toEqual(['1']);
    expect(log).toEqual(['extract:1', 'chunk:1', 'embed:1', 'index:1']);
    const [chunk] = written[0][0].chunks;
    expect(chunk.text).toBe('Aspirin prevents strokes.');
    expect(chunk.vectors.get(SET.id)).toBe('[1,0,0]');
    expect([...chunk.terms.keys()]).toContain('aspirin');
    expect(published).toEqual([new DocumentIngested('papers', ['doc-1'])]);
  });

  it('fails a document with no text alone, and indexes the rest of its batch', async () => {
    const { useCase, log } = scripted([source('1', '   '), source('2', 'Statins lower cholesterol.')]);
    const done = await useCase.execute(jobs('1', '2'));
    expect(done.map((s) => s.documentId)).toEqual(['2']);
    expect(log).toContain('failed:1:the document has no text to index');
  });

  it('puts the batch back in the queue when the embedder is only passing through a failure', async () => {
    const rateLimited = Object.assign(new Error('slow down'), { status: 429, retryAfterMs: 2_000 });
    const { useCase, log, published } = scripted([source('1', 'Aspirin.')], {
      embed: () => Promise.reject(rateLimited),
    });
    const failure = useCase.execute(jobs('1'));
    await expect(failure).rejects.toBeInstanceOf(TransientIndexingError);
    await expect(failure).rejects.toMatchObject({ retryAfterMs: 2_000 });
    expect(log.at(-1)).toBe('requeue:1');
    expect(published).toEqual([]);
  });

  it('fails the batch when the embedder fails for good', async () => {
    const { useCase, log } = scripted([source('1', 'Aspirin.')], {
      embed: () => Promise.reject(new Error('bad input')),
    });
    expect(await useCase.execute(jobs('1'))).toEqual([]);
    expect(log.at(-1)).toBe('failed:1:bad input');
  });

  it('embeds again when the collection was re-indexed meanwhile', async () => {
    const { useCase, log } = scripted([source('1', 'Aspirin.')], {
      replace: () => Promise.reject(new EmbeddingSetsChangedError()),
    });
    await expect(useCase.execute(jobs('1'))).rejects.toMatchObject({
      name: 'TransientIndexingError',
      retryAfterMs: 0,
    });
    expect(log.at(-1)).toBe('requeue:1');
  });

  it('retries a refused batch one document at a time, so one bad document fails alone', async () => {
    const { useCase, log, written } = scripted([source('1', 'Aspirin.'), source('2', 'Statins.')], {
      replace: (batch) =>
        batch.some((b) => b.source.documentId === '2')
          ? Promise.reject(new Error('refused'))
          : Promise.resolve([{ documentId: '1', version: 1 }]),
    });
    const done = await useCase.execute(jobs('1', '2'));
    expect(done.map((s) => s.documentId)).toEqual(['1']);
    expect(written.map((b) => b.map((x) => x.source.documentId))).toEqual([['1', '2'], ['1'], ['2']]);
    expect(log.at(-1)).toBe('failed:2:refused');
  });
});
