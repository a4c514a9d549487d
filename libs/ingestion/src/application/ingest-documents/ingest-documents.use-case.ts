import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppError, ErrorCode, type IngestRequest, type IngestResponse } from '#contracts';
import { EMBEDDERS, type EmbedderRegistry, englishAnalyzer } from '#platform';
import { contentHash } from '../../domain/content-hash.js';
import { UnsupportedFileError } from '../../infrastructure/extraction/extraction.errors.js';
import { detectFileKind } from '../../infrastructure/extraction/file-kind.detector.js';
import type { NewDocumentVersion } from '../../domain/document-job.js';
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
  ) {}

  async execute(request: IngestRequest): Promise<IngestResponse> {
    const seen = new Set<string>();
    for (const d of request.documents) {
      if (seen.has(d.id))
        throw new AppError(ErrorCode.ValidationFailed, `document id "${d.id}" appears twice in one request`);
      seen.add(d.id);
    }
    const versions: NewDocumentVersion[] = request.documents.map((d) => {
      const title = d.title ?? null;
      if (d.file) {
        let kind: string;
        try {
          kind = detectFileKind(d.file.name, d.file.mimeType);
        } catch (error) {
          if (error instanceof UnsupportedFileError)
            throw new AppError(UNSUPPORTED_MEDIA_TYPE, error.message);
          throw error;
        }
        const bytes = Buffer.from(d.file.contentBase64, 'base64');
        return {
          externalId: d.id,
          title,
          metadata: d.metadata,
          sourceKind: kind,
          sourceText: null,
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
          sourceText: d.url,
          sourceBytes: null,
          contentHash: contentHash({ text: `url ${d.url} ${version}`, title, metadata: d.metadata }),
        };
      }
      return {
        externalId: d.id,
        title,
        metadata: d.metadata,
        sourceKind: 'text',
        sourceText: d.text!,
        sourceBytes: null,
        contentHash: contentHash({ text: d.text!, title, metadata: d.metadata }),
      };
    });

    const { created, existing } = await this.versions.transaction(async (m) => {
      const collection = await this.collections.ensureCollection(
        m,
        request.collection,
        this.embedders,
        englishAnalyzer.name,
      );
      const created = await this.versions.upsertVersions(m, collection.id, versions);
      const unchangedIds = versions.map((v) => v.externalId).filter((id) => !created.has(id));
      const existing =
        unchangedIds.length > 0
          ? await this.versions.currentVersions(collection.id, unchangedIds, m)
          : new Map();
      return { created, existing };
    });

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
}
