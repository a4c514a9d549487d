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
import type { DocumentStage, SourceKind } from '#contracts';
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
export class IndexDocumentsHandler {
  private readonly log = new Logger('IndexDocuments');

  constructor(
    private readonly repository: DocumentRepository,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async execute(jobs: DocumentJob[]): Promise<void> {
    const sources = await this.repository.startProcessing(jobs);
    const prepared = await this.prepare(sources);
    if (prepared.length === 0) return;

    const batch = prepared.map((p) => p.source);
    await this.enter(batch, 'embed');
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
        await this.repository.requeue(batch);
        throw new TransientIndexingError(describe(error), transient.retryAfterMs);
      }
      this.log.error(`embedding ${prepared.length} document(s) failed: ${describe(error)}`);
      for (const p of prepared) await this.repository.markFailed(p.source, describe(error));
      return;
    }

    await this.enter(batch, 'index');
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

  /** Extracts then chunks the batch; the extracted texts are let go once chunked. */
  private async prepare(
    sources: DocumentSource[],
  ): Promise<{ source: DocumentSource; chunks: IndexedChunk[] }[]> {
    await this.enter(sources, 'extract');
    const extracted: { source: DocumentSource; text: string }[] = [];
    for (const source of sources) {
      try {
        extracted.push({ source, text: await this.extract(source) });
      } catch (error) {
        await this.repository.markFailed(source, describe(error));
      }
    }
    await this.enter(
      extracted.map((e) => e.source),
      'chunk',
    );
    const prepared: { source: DocumentSource; chunks: IndexedChunk[] }[] = [];
    for (const { source, text } of extracted) {
      try {
        prepared.push({ source, chunks: await this.chunk(source, text) });
      } catch (error) {
        await this.repository.markFailed(source, describe(error));
      }
    }
    return prepared;
  }

  private enter(jobs: DocumentJob[], stage: DocumentStage): Promise<void> {
    return this.repository.recordStage(jobs, stage, STAGE_PROGRESS[stage]);
  }

  private async extract(source: DocumentSource): Promise<string> {
    if (!source.sourceBytes) return source.sourceText ?? '';
    const { text, title } = await extractText(source.sourceKind as FileKind, source.sourceBytes);
    // A file's own title (HTML <title>, a markdown heading, PDF info) names it when the client gave none.
    source.title ??= title?.trim() || null;
    return text.replaceAll('\u0000', '');
  }

  private async chunk(source: DocumentSource, text: string): Promise<IndexedChunk[]> {
    const pieces = await chunkText(text, source.sourceKind as SourceKind, this.config.chunking);
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
