import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  type IngestItem,
  type IngestRequest,
  type IngestResponse,
  type StagedFile,
} from '#contracts';
import { EMBEDDERS, type EmbedderRegistry } from '#embeddings';
import { englishAnalyzer } from '#text-analysis';
import { contentHash, contentHashFraming } from '../../domain/content-hash.js';
import { UnsupportedFileError } from '../../infrastructure/extraction/extraction.errors.js';
import { detectFileKind } from '../../infrastructure/extraction/file-kind.detector.js';
import type { DocumentJob, NewDocumentVersion } from '../../domain/document-job.js';
import { UploadPartsRepository } from '../../infrastructure/uploads/upload-parts.repository.js';
import { JobIdSigner } from '../../infrastructure/job-id.signer.js';
import { CollectionRepository } from '../../infrastructure/collection.repository.js';
import { DocumentVersionRepository } from '../../infrastructure/document-version.repository.js';
import { INGESTION_QUEUE, type IngestionQueue } from '../ingestion-queue.port.js';
import { UNSUPPORTED_MEDIA_TYPE } from '../../domain/ingestion.errors.js';

/**
 * Accepts documents into a collection (created on first use): records each as a new version, or as
 * unchanged when its content hash is the same, then queues the new versions. Nothing is processed here.
 */
@Injectable()
export class IngestDocumentsUseCase {
  constructor(
    private readonly collections: CollectionRepository,
    private readonly versions: DocumentVersionRepository,
    @Inject(EMBEDDERS) private readonly embedders: EmbedderRegistry,
    @Inject(INGESTION_QUEUE) private readonly queue: IngestionQueue,
    private readonly jobIds: JobIdSigner,
    private readonly uploads: UploadPartsRepository,
  ) {}

  async execute(request: IngestRequest): Promise<IngestResponse> {
    const seen = new Set<string>();
    for (const d of request.documents) {
      if (seen.has(d.id))
        throw new AppError(ErrorCode.ValidationFailed, `document id "${d.id}" appears twice in one request`);
      seen.add(d.id);
    }
    const versions: NewDocumentVersion[] = [];
    // One at a time: a staged file given a title or metadata other than its staging's is hashed again by
    // the database, which reads it whole.
    for (const d of request.documents) versions.push(await this.version(d));
    const staged = versions.flatMap((v) => (v.sourceBlob ? [v.sourceBlob] : []));

    let replaced: string[] = [];
    let outcome: { created: Map<string, DocumentJob>; existing: Map<string, DocumentJob> };
    try {
      outcome = await this.versions.transaction(async (m) => {
        const collection = await this.collections.ensureCollection(
          m,
          request.collection,
          this.embedders,
          englishAnalyzer.name,
        );
        replaced = await this.uploads.blobsOf(
          collection.id,
          versions.map((v) => v.externalId),
          m,
        );
        const created = await this.versions.upsertVersions(m, collection.id, versions);
        const unchangedIds = versions.map((v) => v.externalId).filter((id) => !created.has(id));
        const existing =
          unchangedIds.length > 0
            ? await this.versions.currentVersions(collection.id, unchangedIds, m)
            : new Map<string, DocumentJob>();
        return { created, existing };
      });
    } finally {
      // Staged files of unchanged documents, and those of the versions just replaced, are read by no one.
      await this.uploads.releaseUnreferenced([...staged, ...replaced]);
    }
    const { created, existing } = outcome;

    await this.queue.enqueue([...created.values()]);
    return {
      documents: await Promise.all(
        versions.map(async (v) => {
          const job = created.get(v.externalId);
          if (job) return { id: v.externalId, status: 'queued' as const, jobId: await this.jobIds.sign(job) };
          const current = existing.get(v.externalId);
          return {
            id: v.externalId,
            status: 'unchanged' as const,
            jobId: current ? await this.jobIds.sign(current) : null,
          };
        }),
      ),
    };
  }

  private async version(d: IngestItem): Promise<NewDocumentVersion> {
    const title = d.title ?? null;
    const none = { sourceText: null, sourceBytes: null, sourceBlob: null };
    if (d.file) {
      let kind: string;
      try {
        kind = detectFileKind(d.file.name, d.file.mimeType);
      } catch (error) {
        if (error instanceof UnsupportedFileError) throw new AppError(UNSUPPORTED_MEDIA_TYPE, error.message);
        throw error;
      }
      const base = { externalId: d.id, title, metadata: d.metadata, sourceKind: kind };
      if (d.file.staged) return { ...base, ...none, ...(await this.stagedSource(d.file.staged, d)) };
      const bytes = Buffer.from(d.file.contentBase64 ?? '', 'base64');
      return {
        ...base,
        ...none,
        sourceBytes: bytes,
        contentHash: contentHash({ bytes, title, metadata: d.metadata }),
      };
    }
    if (d.url !== undefined) {
      // The page is fetched by the worker, so its bytes cannot be hashed here: the version is what
      // changes with the content (a sitemap's lastmod) when known, else each ingest fetches it anew.
      const version = d.lastModified ?? randomUUID();
      return {
        externalId: d.id,
        title,
        metadata: d.metadata,
        sourceKind: 'url',
        ...none,
        sourceText: d.url,
        contentHash: contentHash({ text: `url ${d.url} ${version}`, title, metadata: d.metadata }),
      };
    }
    return {
      externalId: d.id,
      title,
      metadata: d.metadata,
      sourceKind: 'text',
      ...none,
      sourceText: d.text!,
      contentHash: contentHash({ text: d.text!, title, metadata: d.metadata }),
    };
  }

  /** A staged upload: its content hash as if its bytes were here, computed where they are. */
  private async stagedSource(
    staged: StagedFile,
    d: IngestItem,
  ): Promise<{ sourceBlob: string; contentHash: string }> {
    const { head, tail } = contentHashFraming({
      byteLength: staged.size,
      title: d.title ?? null,
      metadata: d.metadata,
    });
    const hashed = await this.uploads.contentHash(staged, head, tail);
    if (!hashed)
      throw new AppError(
        ErrorCode.ValidationFailed,
        `file "${d.file!.name}": its staged bytes are missing or not those described (staged file ${staged.blobId})`,
      );
    return { sourceBlob: staged.blobId, contentHash: hashed };
  }
}
