import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  UploadedFiles,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { FilesInterceptor } from '@nestjs/platform-express';
import type { Request } from 'express';
import {
  AppError,
  ErrorCode,
  INGESTION_PORT,
  UPLOAD_STAGING,
  IngestDocumentsBody,
  IngestItem,
  IngestUrlBody,
  type JsonDocument,
  Metadata,
  mayRead,
  type CollectionList,
  type CollectionView,
  type DocumentPage,
  type DocumentView,
  type IngestionPort,
  type UploadStagingPort,
  type IngestResponse,
  type ListDocumentsQuery,
  type ReindexResponse,
  type RetriedDocument,
} from '#contracts';
import { RateLimit, validate } from '#platform';
import { open, rm } from 'node:fs/promises';
import { CollectionAccess, CollectionAccessGuard } from './access.js';
import { toIngestItems } from '../application/rag-operations/json-documents.js';
import { collectionParam, documentIdParam, listDocumentsQuery } from './params.js';
import { sniffUpload, UploadAdmission } from './uploads.js';

/** How much of a spooled file is read at once on its way to the staging store. */
const UPLOAD_READ_BYTES = 256 * 1024;

/** Every route that names a collection checks the caller's scope on it first (CollectionAccessGuard). */
@RateLimit('search')
@Controller('rag/collections')
@UseGuards(CollectionAccessGuard)
export class CollectionsHttpController {
  constructor(
    @Inject(INGESTION_PORT) private readonly ingestion: IngestionPort,
    @Inject(UPLOAD_STAGING) private readonly staging: UploadStagingPort,
  ) {}

  /** The collections the caller may read, by name, with their document and chunk counts. */
  @Get()
  async listCollections(@Req() req: Request): Promise<CollectionList> {
    const { collections } = await this.ingestion.listCollections({});
    return { collections: collections.filter((c) => mayRead(req.principal, c.name)) };
  }

  /** The collection with its documents, chunks, vectors and lexical index (admin or write scope). */
  @Delete(':collection')
  @HttpCode(204)
  @CollectionAccess('write')
  async deleteCollection(@Param('collection', collectionParam) collection: string): Promise<void> {
    await this.ingestion.deleteCollection({ collection });
  }

  /**
   * JSON documents (text or a URL to fetch), the short form `{"url"}` for one URL, or multipart/form-data
   * with `files` (and an optional `metadata` JSON field).
   */
  @Post(':collection/documents')
  @RateLimit('ingestion')
  @HttpCode(202)
  @CollectionAccess('write')
  // Admission first (length, cap, a free slot), then multer spools the files to disk.
  @UseInterceptors(UploadAdmission, FilesInterceptor('files'))
  async ingest(
    @Param('collection', collectionParam) collection: string,
    @Req() req: Request,
    @UploadedFiles() files: Express.Multer.File[] | undefined,
  ): Promise<IngestResponse> {
    if (!req.is('multipart/form-data'))
      return this.ingestion.ingest({ collection, documents: fromJson(req.body) });
    const uploads = fromUpload(files ?? [], req.body);
    // Every file is checked before any is handed on, so a refused file leaves nothing half-ingested.
    for (const u of uploads) await sniffUpload(u.spooled, u.name);
    const documents: IngestResponse['documents'] = [];
    for (const u of uploads) {
      // The file goes from its spool file into ingestion's staging store part by part (1 MiB at a time);
      // only a reference to it crosses the transport.
      const staged = await this.staging.stage(readInPieces(u.spooled.path), {
        size: u.spooled.size,
        title: u.item.title ?? null,
        metadata: u.item.metadata,
      });
      const item: IngestItem = { ...u.item, file: { ...u.item.file!, staged } };
      let answer: IngestResponse;
      try {
        answer = await this.ingestion.ingest({ collection, documents: [item] });
      } catch (error) {
        // Refused, or not answered in time: ingestion may still take it, else the orphan sweep removes it.
        if (error instanceof AppError && error.status < 500) await this.staging.discard(staged.blobId);
        throw error;
      }
      documents.push(...answer.documents);
      await rm(u.spooled.path, { force: true });
    }
    return { documents };
  }

  /** `?status=&limit=&cursor=`: a page of documents in id order; `nextCursor` asks for the next one. */
  @Get(':collection/documents')
  @CollectionAccess('read')
  listDocuments(
    @Param('collection', collectionParam) collection: string,
    @Query(listDocumentsQuery) query: ListDocumentsQuery,
  ): Promise<DocumentPage> {
    return this.ingestion.listDocuments({ collection, ...query });
  }

  @Get(':collection')
  @CollectionAccess('read')
  getCollection(@Param('collection', collectionParam) collection: string): Promise<CollectionView> {
    return this.ingestion.getCollection({ collection });
  }

  @Get(':collection/documents/:id')
  @CollectionAccess('read')
  getDocument(
    @Param('collection', collectionParam) collection: string,
    @Param('id', documentIdParam) id: string,
  ): Promise<DocumentView> {
    return this.ingestion.getDocument({ collection, id });
  }

  /** A failed document becomes a new queued version of the same content. */
  @Post(':collection/documents/:id/retry')
  @RateLimit('ingestion')
  @HttpCode(202)
  @CollectionAccess('write')
  retryDocument(
    @Param('collection', collectionParam) collection: string,
    @Param('id', documentIdParam) id: string,
  ): Promise<RetriedDocument> {
    return this.ingestion.retryDocument({ collection, id });
  }

  /**
   * Re-embeds the collection with the configured embedder (after a model change, say). Search keeps
   * using the current vectors until the new ones are complete, then switches at once; progress is in
   * `GET /rag/collections/{collection}` under `reindex`.
   */
  @Post(':collection/reindex')
  @RateLimit('ingestion')
  @HttpCode(202)
  @CollectionAccess('write')
  reindex(@Param('collection', collectionParam) collection: string): Promise<ReindexResponse> {
    return this.ingestion.reindex({ collection });
  }

  @Delete(':collection/documents/:id')
  @RateLimit('ingestion')
  @HttpCode(204)
  @CollectionAccess('write')
  async deleteDocument(
    @Param('collection', collectionParam) collection: string,
    @Param('id', documentIdParam) id: string,
  ): Promise<void> {
    await this.ingestion.deleteDocument({ collection, id });
  }
}

function fromJson(body: unknown): IngestItem[] {
  const isUrlForm = typeof body === 'object' && body !== null && 'url' in body && !('documents' in body);
  const documents: JsonDocument[] = isUrlForm
    ? [validate(IngestUrlBody, body)]
    : validate(IngestDocumentsBody, body).documents;
  return toIngestItems(documents);
}

/** Stands for the staged reference while the item is validated, before its file is staged. */
const PLACEHOLDER_STAGED = {
  blobId: '00000000-0000-4000-8000-000000000000',
  size: 0,
  sha256: '0'.repeat(64),
};

/**
 * A spooled file, piece by piece through one reused buffer: each piece is consumed (copied) before the
 * next is asked for, so reading a file allocates nothing per piece.
 */
async function* readInPieces(path: string): AsyncGenerator<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(UPLOAD_READ_BYTES);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

interface SpooledUpload {
  name: string;
  spooled: Express.Multer.File;
  item: IngestItem;
}

function fromUpload(
  files: Express.Multer.File[],
  fields: Record<string, unknown> | undefined,
): SpooledUpload[] {
  if (files.length === 0)
    throw new AppError(
      ErrorCode.ValidationFailed,
      'files: a multipart upload needs at least one file in the "files" field',
    );
  let metadata: Metadata = {};
  if (typeof fields?.metadata === 'string' && fields.metadata.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fields.metadata);
    } catch {
      throw new AppError(ErrorCode.ValidationFailed, 'metadata: must be a JSON object');
    }
    metadata = validate(Metadata, parsed, 'metadata');
  }
  const names = new Set<string>();
  return files.map((f) => {
    // Multer hands over the file name as latin1 bytes; browsers and curl send UTF-8.
    const name = Buffer.from(f.originalname, 'latin1').toString('utf8');
    if (names.has(name))
      throw new AppError(ErrorCode.ValidationFailed, `files: "${name}" appears twice in one upload`);
    names.add(name);
    const item = validate(
      IngestItem,
      {
        id: name,
        metadata: { ...metadata, filename: name },
        file: { name, mimeType: f.mimetype, staged: PLACEHOLDER_STAGED },
      },
      'files',
    );
    return { name, spooled: f, item };
  });
}
