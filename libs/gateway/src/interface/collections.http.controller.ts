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
  UseInterceptors,
} from '@nestjs/common';
import { FilesInterceptor } from '@nestjs/platform-express';
import type { Request } from 'express';
import {
  AppError,
  ErrorCode,
  INGESTION_PORT,
  IngestDocumentsBody,
  Metadata,
  type CollectionView,
  type DocumentPage,
  type DocumentView,
  type IngestionPort,
  type IngestItem,
  type IngestResponse,
  type ListDocumentsQuery,
  type ReindexResponse,
  type RetriedDocument,
} from '#contracts';
import { validate } from '#platform';
import { toIngestItems } from '../application/rag-operations/json-documents.js';
import { collectionParam, documentIdParam, listDocumentsQuery } from './params.js';

export const MAX_FILES_PER_REQUEST = 100;

@Controller('rag/collections')
export class CollectionsHttpController {
  constructor(@Inject(INGESTION_PORT) private readonly ingestion: IngestionPort) {}

  /** JSON documents, or multipart/form-data with `files` (and an optional `metadata` JSON field). */
  @Post(':collection/documents')
  @HttpCode(202)
  @UseInterceptors(FilesInterceptor('files', MAX_FILES_PER_REQUEST))
  ingest(
    @Param('collection', collectionParam) collection: string,
    @Req() req: Request,
    @UploadedFiles() files: Express.Multer.File[] | undefined,
  ): Promise<IngestResponse> {
    const documents = req.is('multipart/form-data') ? fromUpload(files ?? [], req.body) : fromJson(req.body);
    return this.ingestion.ingest({ collection, documents });
  }

  /** `?status=&limit=&cursor=`: a page of documents in id order; `nextCursor` asks for the next one. */
  @Get(':collection/documents')
  listDocuments(
    @Param('collection', collectionParam) collection: string,
    @Query(listDocumentsQuery) query: ListDocumentsQuery,
  ): Promise<DocumentPage> {
    return this.ingestion.listDocuments({ collection, ...query });
  }

  @Get(':collection')
  getCollection(@Param('collection', collectionParam) collection: string): Promise<CollectionView> {
    return this.ingestion.getCollection({ collection });
  }

  @Get(':collection/documents/:id')
  getDocument(
    @Param('collection', collectionParam) collection: string,
    @Param('id', documentIdParam) id: string,
  ): Promise<DocumentView> {
    return this.ingestion.getDocument({ collection, id });
  }

  /** A failed document becomes a new queued version of the same content. */
  @Post(':collection/documents/:id/retry')
  @HttpCode(202)
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
  @HttpCode(202)
  reindex(@Param('collection', collectionParam) collection: string): Promise<ReindexResponse> {
    return this.ingestion.reindex({ collection });
  }

  @Delete(':collection/documents/:id')
  @HttpCode(204)
  async deleteDocument(
    @Param('collection', collectionParam) collection: string,
    @Param('id', documentIdParam) id: string,
  ): Promise<void> {
    await this.ingestion.deleteDocument({ collection, id });
  }
}

function fromJson(body: unknown): IngestItem[] {
  return toIngestItems(validate(IngestDocumentsBody, body).documents);
}

function fromUpload(files: Express.Multer.File[], fields: Record<string, unknown> | undefined): IngestItem[] {
  if (files.length === 0)
    throw AppError.badRequest(
      ErrorCode.ValidationFailed,
      'files: a multipart upload needs at least one file in the "files" field',
    );
  let metadata: Metadata = {};
  if (typeof fields?.metadata === 'string' && fields.metadata.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fields.metadata);
    } catch {
      throw AppError.badRequest(ErrorCode.ValidationFailed, 'metadata: must be a JSON object');
    }
    metadata = validate(Metadata, parsed, 'metadata');
  }
  return files.map((f) => {
    // Multer hands over the file name as latin1 bytes; browsers and curl send UTF-8.
    const name = Buffer.from(f.originalname, 'latin1').toString('utf8');
    return {
      id: name,
      metadata: { ...metadata, filename: name },
      file: { name, mimeType: f.mimetype, contentBase64: f.buffer.toString('base64') },
    };
  });
}
