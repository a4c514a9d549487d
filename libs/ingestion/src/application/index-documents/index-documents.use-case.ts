import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { CONFIG, type AppConfig, yieldToEventLoop } from '#platform';
import { Metrics, secondsSince, Tracing } from '#observability';
import { toVectorLiteral } from '#search-index';
import { EMBEDDERS, type EmbedderRegistry, transientFailure, assertVectorSize } from '#embeddings';
import { englishAnalyzer, termFrequencies } from '#text-analysis';
import { DocumentIngested, type DocumentStage, type Metadata, type SourceKind } from '#contracts';
import { chunkSections } from '../../domain/chunking/section.chunker.js';
import { chunkText } from '../../domain/chunking/text.chunker.js';
import { embeddingInput } from '../../domain/embedding-input.js';
import { chunkTerms } from '../../domain/indexed-terms.js';
import {
  UnreadableFileError,
  UnsupportedFileError,
} from '../../infrastructure/extraction/extraction.errors.js';
import type { ExtractedText, FileKind } from '../../infrastructure/extraction/extraction.types.js';
import { extractText } from '../../infrastructure/extraction/text.extractor.js';
import type { DocumentJob, DocumentSource } from '../../domain/document-job.js';
import {
  ChunkRepository,
  EmbeddingSetsChangedError,
  type IndexedChunk,
} from '../../infrastructure/chunk.repository.js';
import { JobStateRepository } from '../../infrastructure/job-state.repository.js';
import { UploadPartsRepository } from '../../infrastructure/uploads/upload-parts.repository.js';
import { UrlSourceReader } from './url-source.reader.js';
import { EmbeddingSetRepository } from '../../infrastructure/embedding-set.repository.js';

/**
 * The percent a document has reached on entering each stage (it reaches 100 once indexed), weighted by
 * how long the stages usually take: extraction of files and embedding dominate.
 */
export const STAGE_PROGRESS: Readonly<Record<DocumentStage, number>> = {
  extract: 10,
  chunk: 30,
  embed: 60,
  index: 90,
};

/**
 * The ingestion pipeline for a batch of document versions: extract → chunk → embed → index, each stage
 * run for the whole batch and recorded with one statement. A document that cannot be read fails alone,
 * with its reason and the stage it failed at; the rest of the batch is indexed in one transaction.
 */
@Injectable()
export class IndexDocumentsUseCase {
  private readonly log = new Logger('IndexDocuments');

  constructor(
    private readonly jobStates: JobStateRepository,
    private readonly chunks: ChunkRepository,
    private readonly sets: EmbeddingSetRepository,
    @Inject(EMBEDDERS) private readonly embedders: EmbedderRegistry,
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly events: EventBus,
    private readonly urls: UrlSourceReader,
    private readonly uploads: UploadPartsRepository,
    @Optional() metrics?: Metrics,
  ) {
    this.metrics = metrics ?? Metrics.detached();
  }

  private readonly metrics: Metrics;

  /**
   * Indexes the batch; returns the versions indexed (the others failed, or were superseded meanwhile).
   * The batch is a span (under the job that started it), and its documents and chunks are counted.
   */
  async execute(jobs: DocumentJob[]): Promise<DocumentSource[]> {
    const started = performance.now();
    try {
      return await Tracing.inSpan(
        'ingestion.index_batch',
        { attributes: { 'ragnest.documents': jobs.length } },
        () => this.run(jobs),
      );
    } catch (error) {
      if (error instanceof TransientIndexingError)
        this.metrics.ingestion.documentsDone('requeued', jobs.length);
      throw error;
    } finally {
      this.metrics.ingestion.batch(secondsSince(started));
    }
  }

  private async run(jobs: DocumentJob[]): Promise<DocumentSource[]> {
    // Extraction is the first stage: entered with the move to processing, in the same statement.
    const sources = await this.jobStates.startProcessing(jobs, 'extract', STAGE_PROGRESS.extract);
    const prepared = await this.prepare(sources);
    if (prepared.length === 0) {
      this.count(sources, prepared, new Set());
      return [];
    }

    const batch = prepared.map((p) => p.source);
    await this.enter(batch, 'embed');
    try {
      await this.embed(prepared);
    } catch (error) {
      const transient = transientFailure(error);
      if (transient) {
        // The provider is rate limiting or down: the documents wait in the queue, they have not failed.
        await this.jobStates.requeue(batch);
        throw new TransientIndexingError(describe(error), transient.retryAfterMs);
      }
      this.log.error(`embedding ${prepared.length} document(s) failed: ${describe(error)}`);
      for (const p of prepared) await this.jobStates.markFailed(p.source, describe(error));
      this.count(sources, prepared, new Set());
      return [];
    }

    await this.enter(batch, 'index');
    const indexed = new Set<string>();
    try {
      const written = await Tracing.inSpan('ingestion.index_transaction', {}, () =>
        this.chunks.replaceChunks(prepared),
      );
      for (const j of written) indexed.add(j.documentId);
    } catch (error) {
      if (error instanceof EmbeddingSetsChangedError) {
        await this.jobStates.requeue(batch);
        throw new TransientIndexingError(error.message, 0);
      }
      if (prepared.length === 1) {
        await this.jobStates.markFailed(prepared[0].source, describe(error));
        this.count(sources, prepared, new Set());
        return [];
      }
      // One document the database refuses must not fail the others of its batch: retry them one by one.
      for (const p of prepared) {
        await this.chunks.replaceChunks([p]).then(
          (done) => done.forEach((j) => indexed.add(j.documentId)),
          (e: unknown) => this.jobStates.markFailed(p.source, describe(e)),
        );
      }
    }
    const done = batch.filter((s) => indexed.has(s.documentId));
    this.count(sources, prepared, indexed);
    // An indexed version's uploaded file is needed no more (a failed one keeps it, for a retry).
    await this.uploads.releaseIndexed(done.map((s) => s.documentId));
    // After the commit, so nothing cached from the old chunks outlives the news.
    const byCollection = new Map<string, string[]>();
    for (const s of done)
      byCollection.set(s.collection, [...(byCollection.get(s.collection) ?? []), s.externalId]);
    for (const [collection, ids] of byCollection) this.events.publish(new DocumentIngested(collection, ids));
    return done;
  }

  /** Documents indexed and failed (started, not indexed), and the chunks the committed ones wrote. */
  private count(
    sources: DocumentSource[],
    prepared: { source: DocumentSource; chunks: IndexedChunk[] }[],
    indexed: Set<string>,
  ): void {
    for (const s of sources)
      this.metrics.ingestion.documentsDone(indexed.has(s.documentId) ? 'indexed' : 'failed', 1, s.collection);
    for (const p of prepared)
      if (indexed.has(p.source.documentId))
        this.metrics.ingestion.chunksIndexed(p.chunks.length, p.source.collection);
  }

  /** Extracts then chunks the batch; the extracted texts are let go once chunked. */
  private async prepare(
    sources: DocumentSource[],
  ): Promise<{ source: DocumentSource; chunks: IndexedChunk[] }[]> {
    const extracted: { source: DocumentSource; content: ExtractedText }[] = [];
    for (const source of sources) {
      await yieldToEventLoop();
      try {
        extracted.push({ source, content: await this.extract(source) });
      } catch (error) {
        await this.jobStates.markFailed(source, describe(error));
      }
    }
    await this.enter(
      extracted.map((e) => e.source),
      'chunk',
    );
    const prepared: { source: DocumentSource; chunks: IndexedChunk[] }[] = [];
    for (const { source, content } of extracted) {
      await yieldToEventLoop();
      try {
        prepared.push({ source, chunks: await this.chunk(source, content) });
      } catch (error) {
        await this.jobStates.markFailed(source, describe(error));
      }
    }
    return prepared;
  }

  private enter(jobs: DocumentJob[], stage: DocumentStage): Promise<void> {
    return this.jobStates.recordStage(jobs, stage, STAGE_PROGRESS[stage]);
  }

  private async extract(source: DocumentSource): Promise<ExtractedText> {
    if (source.sourceKind === 'url') return this.complete(source, await this.urls.read(source));
    // A staged upload is read whole here, one file at a time per batch, and let go once extracted.
    const bytes = source.sourceBlob ? await this.uploads.read(source.sourceBlob) : source.sourceBytes;
    if (!bytes) return { text: source.sourceText ?? '' };
    return this.complete(source, await extractText(source.sourceKind as FileKind, bytes));
  }

  private complete(source: DocumentSource, content: ExtractedText): ExtractedText {
    // A file's own title (HTML <title>, a markdown heading, PDF info) names it when the client gave none.
    source.title ??= content.title?.trim() || null;
    // What the file says of itself (author, created, sheets) fills in what the client did not say.
    if (content.metadata) source.metadata = { ...content.metadata, ...source.metadata };
    return { ...content, text: content.text.replaceAll('\u0000', '') };
  }

  private async chunk(source: DocumentSource, content: ExtractedText): Promise<IndexedChunk[]> {
    // A sitemap is indexed as the list it is: its pages are documents of their own.
    if (content.sitemap) return [];
    const pieces: { position: number; text: string; metadata?: Metadata }[] = content.sections
      ? await chunkSections(content.sections, this.config.chunking)
      : await chunkText(content.text, source.sourceKind as SourceKind, this.config.chunking);
    if (pieces.length === 0) throw new UnreadableFileError('the document has no text to index');
    // The title is indexed with every chunk: it is often the best summary of what the chunk is about.
    const titleTerms = source.title ? englishAnalyzer.terms(source.title) : [];
    return pieces.map((p) => {
      const terms = chunkTerms(titleTerms, p.text);
      return {
        position: p.position,
        text: p.text,
        // A part's metadata (slide, sheet, rows) under the document's, so filters can name a part.
        ...(p.metadata ? { metadata: { ...source.metadata, ...p.metadata } } : {}),
        tokenCount: terms.length,
        terms: termFrequencies(terms),
        vectors: new Map(),
      };
    });
  }

  /**
   * Gives every chunk its vector in each embedding set of its collection (the active one, and a
   * re-index's), each made by that set's model. A chunk whose text is unchanged from the document's
   * previous version keeps the vector it had.
   */
  private async embed(prepared: { source: DocumentSource; chunks: IndexedChunk[] }[]): Promise<void> {
    const sets = await this.sets.writableSets([...new Set(prepared.map((p) => p.source.collectionId))]);
    const previous = await this.chunks.previousVectors(
      prepared.map((p) => p.source.documentId),
      sets.map((s) => s.id),
    );
    for (const set of sets) {
      const embedder = this.embedders.get(set.model, set.dimensions);
      if (!embedder) {
        // A re-index's set is filled by the re-index itself; the active set's model must be at hand.
        if (set.state === 'building') continue;
        throw new Error(`this server cannot make ${set.model} vectors: re-index the collection`);
      }
      const reuse = previous.get(set.id);
      const todo: { chunk: IndexedChunk; input: string }[] = [];
      for (const p of prepared) {
        if (p.source.collectionId !== set.collectionId) continue;
        for (const chunk of p.chunks) {
          const input = embeddingInput(p.source.title, chunk.text);
          const vector = reuse?.get(input);
          if (vector !== undefined) chunk.vectors.set(set.id, vector);
          else todo.push({ chunk, input });
        }
      }
      const size = this.config.embeddings.batchSize;
      for (let i = 0; i < todo.length; i += size) {
        await yieldToEventLoop();
        const slice = todo.slice(i, i + size);
        const vectors = await embedder.embedDocuments(slice.map((t) => t.input));
        assertVectorSize(vectors, set.dimensions, set.model);
        slice.forEach((t, k) => t.chunk.vectors.set(set.id, toVectorLiteral(vectors[k])));
      }
    }
  }
}

/** Indexing that should be tried again later, after `retryAfterMs` when the provider said so. */
export class TransientIndexingError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TransientIndexingError';
  }
}

function describe(error: unknown): string {
  if (error instanceof UnsupportedFileError || error instanceof UnreadableFileError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
