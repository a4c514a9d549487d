import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { MulterOptions } from '@nestjs/platform-express/multer/interfaces/multer-options.interface.js';
import type { Request, Response } from 'express';
import { fileTypeFromFile } from 'file-type';
import { diskStorage } from 'multer';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalize, type Observable } from 'rxjs';
import { AppError, ErrorCode } from '#contracts';
import { CONFIG, type AppConfig } from '#platform';

/**
 * Bounded multipart uploads. A file is spooled to a private temporary directory while it arrives (never
 * held in memory whole), its type is read from its first bytes rather than believed from its name, and it
 * is removed once handed to ingestion. A process receives at most UPLOAD_MAX_CONCURRENT uploads at once;
 * a request's Content-Length is checked against UPLOAD_REQUEST_LIMIT_BYTES before any byte is read.
 */
export const UNSUPPORTED_MEDIA_TYPE = 'GATEWAY.UNSUPPORTED_MEDIA_TYPE';
export const LENGTH_REQUIRED = 'GATEWAY.LENGTH_REQUIRED';

export function multerOptions(c: AppConfig): MulterOptions {
  const dir = mkdtempSync(join(c.security.uploads.tmpDir ?? tmpdir(), 'ragnest-uploads-'));
  return {
    // Multer names each file with 16 random bytes: nothing of the client's name reaches the disk path.
    storage: diskStorage({ destination: dir }),
    limits: {
      fileSize: c.http.uploadLimitBytes,
      files: c.security.uploads.maxFiles,
      fields: 16,
      fieldSize: 64 * 1024,
      parts: c.security.uploads.maxFiles + 16,
    },
  };
}

/** Admits an upload before its body is read: a known length within the cap, and a free slot. */
@Injectable()
export class UploadAdmission implements NestInterceptor {
  private active = 0;

  constructor(@Inject(CONFIG) private readonly config: AppConfig) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    if (!req.is('multipart/form-data')) return next.handle();
    const { requestLimitBytes, maxConcurrent } = this.config.security.uploads;
    const length = Number(req.headers['content-length']);
    if (!Number.isFinite(length))
      throw new AppError(LENGTH_REQUIRED, 'a multipart upload needs a Content-Length header');
    if (length > requestLimitBytes)
      throw new AppError(
        ErrorCode.PayloadTooLarge,
        `the upload is larger than the limit of ${requestLimitBytes} bytes`,
      );
    if (this.active >= maxConcurrent) {
      context.switchToHttp().getResponse<Response>().setHeader('Retry-After', '2');
      throw new AppError(
        ErrorCode.Overloaded,
        `${maxConcurrent} uploads are being received; try again shortly`,
      );
    }
    this.active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      // Whatever became of the request, its spooled files go.
      const files = (req.files ?? []) as Express.Multer.File[];
      for (const f of files) void rm(f.path, { force: true });
    };
    // The response's close, not the request's: a request closes as soon as its body has been read.
    context.switchToHttp().getResponse<Response>().once('close', release);
    return next.handle().pipe(finalize(release));
  }
}

/**
 * Kinds whose content carries a signature, by the extension or media type that claims them; a file that
 * claims one of them must not carry another kind's. Text kinds (txt, md, html, csv, json…) have none: a file claiming a
 * text kind whose first bytes are a known binary signature is refused.
 */
const SIGNED_KINDS: ReadonlyMap<string, string> = new Map([
  ['pdf', 'application/pdf'],
  ['application/pdf', 'application/pdf'],
  ['docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  ['pptx', 'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
  ['xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
]);
const TEXT_SIGNATURES = new Set(['application/xml', 'image/svg+xml', 'text/calendar', 'text/vtt']);

/** Checks an uploaded file's first bytes against what its name and media type claim; 415 when they disagree. */
export async function sniffUpload(file: Express.Multer.File, name: string): Promise<void> {
  const detected = await fileTypeFromFile(file.path);
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
  const claimed = SIGNED_KINDS.get(ext) ?? SIGNED_KINDS.get(file.mimetype.split(';')[0].trim().toLowerCase());
  if (claimed) {
    // Content of another recognised kind is refused here; content of no recognisable kind (a corrupt or
    // truncated file, an office file whose zip is damaged) goes on and ends `failed` with the extractor's
    // reason, so one broken file does not refuse the rest of its request.
    const sameKind =
      detected?.mime === claimed ||
      (detected?.mime === 'application/zip' && claimed.includes('officedocument'));
    if (detected && !sameKind)
      throw new AppError(
        UNSUPPORTED_MEDIA_TYPE,
        `files: "${name}" claims to be ${claimed} but its content is ${detected?.mime ?? 'not'}`,
      );
    return;
  }
  if (detected && !TEXT_SIGNATURES.has(detected.mime) && !detected.mime.startsWith('text/'))
    throw new AppError(
      UNSUPPORTED_MEDIA_TYPE,
      `files: "${name}" is ${detected.mime} by its content, which cannot be ingested as text`,
    );
}
