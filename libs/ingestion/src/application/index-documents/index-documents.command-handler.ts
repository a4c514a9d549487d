import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  CONFIG,
  type AppConfig,
  EMBEDDER,
  type Embedder,
  englishAnalyzer,
  termFrequencies,
  transientFailure,
} from '#platform';
import type { SourceKind } from '#contracts';
import { chunkText } from '../../domain/chunking/text.chunker.js';
import {
  UnreadableFileError,
  UnsupportedFileError,
} from '../../infrastructure/extraction/extraction.errors.js';
import type { FileKind } from '../../infrastructure/extraction/extraction.types.js';
import { extractText } from '../../infrastructure/extraction/text.extractor.js';
import {
  DocumentRepository,
  type DocumentJob,
  type DocumentSource,
  type IndexedChunk,
} from '../../infrastructure/document.repository.js';

/**
 * The ingestion pipeline for a batch of document versions: extract → chunk → embed → index. A document
 * that cannot be read fails alone, with its reason; the rest of the batch is indexed in one transaction.
 */
@Injectable()
export class IndexDocumentsHandler {
  private readonly log = new Logger('IndexDocuments');

  constructor(
    private readonly repository: DocumentRepository,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async execute(jobs: DocumentJob[]): Promise<void> {
    const sources = await this.repository.startProcessing(jobs);
    const prepared: { source: DocumentSource; chunks: IndexedChunk[] }[] = [];
    const texts: string[] = [];
    for (const source of sources) {
      try {
        const chunks = await this.chunk(source);
        prepared.push({ source, chunks });
        for (const c of chunks) texts.push(c.text);
      } catch (error) {
        await this.repository.markFailed(source, describe(error));
      }
    }
    if (prepared.length === 0) return;
    try {
      const vectors = await this.embed(
        prepared.flatMap((p) => p.chunks.map((c) => embeddingInput(p.source.title, c.text))),
      );
      let i = 0;
      for (const p of prepared) for (const c of p.chunks) c.embedding = vectors[i++];
    } catch (error) {
      const transient = transientFailure(error);
      if (transient) {
        // The provider is rate limiting or down: the documents wait in the queue, they have not failed.
        await this.repository.requeue(prepared.map((p) => p.source));
        throw new TransientIndexingError(describe(error), transient.retryAfterMs);
      }
      this.log.error(`embedding ${prepared.length} document(s) failed: ${describe(error)}`);
      for (const p of prepared) await this.repository.markFailed(p.source, describe(error));
      return;
    }
    try {
      await this.repository.replaceChunks(prepared);
    } catch (error) {
      if (prepared.length === 1) {
        await this.repository.markFailed(prepared[0].source, describe(error));
        return;
      }
      // One document the database refuses must not fail the others of its batch: retry them one by one.
      for (const p of prepared) {
        await this.repository
          .replaceChunks([p])
          .catch((e: unknown) => this.repository.markFailed(p.source, describe(e)));
      }
    }
  }

  private async chunk(source: DocumentSource): Promise<IndexedChunk[]> {
    const kind = source.sourceKind as SourceKind;
    const text = source.sourceBytes
      ? (await extractText(kind as FileKind, source.sourceBytes)).text.replaceAll('\u0000', '')
      : (source.sourceText ?? '');
    const pieces = await chunkText(text, kind, this.config.chunking);
    if (pieces.length === 0) throw new UnreadableFileError('the document has no text to index');
    return pieces.map((p) => {
      // The title is indexed with every chunk: it is often the best summary of what the chunk is about.
      const terms = englishAnalyzer.terms(source.title ? `${source.title}\n${p.text}` : p.text);
      return {
        position: p.position,
        text: p.text,
        tokenCount: terms.length,
        terms: termFrequencies(terms),
        embedding: [],
      };
    });
  }

  private async embed(texts: string[]): Promise<number[][]> {
    const size = this.config.embeddings.batchSize;
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += size)
      out.push(...(await this.embedder.embedDocuments(texts.slice(i, i + size))));
    return out;
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

export function embeddingInput(title: string | null, text: string): string {
  return title ? `${title}\n${text}` : text;
}

function describe(error: unknown): string {
  if (error instanceof UnsupportedFileError || error instanceof UnreadableFileError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
