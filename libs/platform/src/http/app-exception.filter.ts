import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { throwError, type Observable } from 'rxjs';
import { AppError, ErrorCode, httpStatusOf } from '#contracts';
import { RequestContext } from '../context/request-context.js';
import { databaseInputError } from '../database/database-input-error.js';
import { serializeError } from '../errors/serialize-error.js';
import { errorRendererFor } from './error-body.js';

/**
 * Every error leaves the process in one shape. Over HTTP: `{"error":{"code","message","requestId"}}`
 * with the status of its code from #contracts' one code-to-status table (httpStatusOf): code that raises
 * an error names only its code; a 5xx that is not ours is logged with its stack and shown as a generic
 * message. Over a transport: the serialised AppError, so the caller rethrows the same error.
 */
@Catch()
export class AppExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): Observable<unknown> | void {
    if (host.getType() === 'rpc') {
      if (!(exception instanceof AppError) && !databaseInputError(exception))
        this.log.error(describe(exception));
      return throwError(() => serializeError(exception));
    }
    if (host.getType() !== 'http') return;
    const http = host.switchToHttp();
    const req = http.getRequest<Request & { requestId?: string }>();
    const res = http.getResponse<Response>();
    if (exception instanceof HttpException && req.path?.startsWith('/health')) {
      // Terminus reports which dependency is down in its own JSON: keep it as it is.
      res.setHeader('Retry-After', '5');
      res.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const error = toAppError(exception);
    const status = httpStatusOf(error.code);
    // A connection already gone (a client that aborted, a body past its deadline) is no server error.
    if (status >= 500 && !(exception instanceof AppError) && !res.destroyed)
      this.log.error(describe(exception));
    if (res.headersSent || res.destroyed) {
      res.end();
      return;
    }
    const requestId = req.requestId ?? RequestContext.current()?.requestId ?? '';
    // A rate limit names its own wait (RateLimitInterceptor); other refusals suggest 5 s.
    if ((status === 503 || status === 429) && !res.hasHeader('Retry-After'))
      res.setHeader('Retry-After', '5');
    // The whole path: inside middleware mounted on a route, req.path is relative to the mount point.
    const render = errorRendererFor((req.originalUrl ?? req.url)?.split('?')[0]);
    if (render) {
      res.status(status).json(render(error, requestId));
      return;
    }
    res.status(status).json({
      error: {
        code: error.code,
        message: error.message,
        requestId,
        ...(error.details !== undefined ? { details: error.details } : {}),
      },
    });
  }
}

/** Maps framework and body-parser errors onto stable codes (a 4xx of theirs keeps its status). */
export function toAppError(exception: unknown): AppError {
  if (exception instanceof AppError) return exception;
  const refused = databaseInputError(exception);
  if (refused) return refused;
  const e = exception as {
    type?: string;
    status?: number;
    statusCode?: number;
    message?: string;
    code?: string;
  };
  if (e?.type === 'entity.too.large' || e?.code === 'LIMIT_FILE_SIZE') {
    return new AppError(ErrorCode.PayloadTooLarge, 'request body is larger than the limit');
  }
  if (e?.type === 'entity.parse.failed') {
    return new AppError(
      ErrorCode.ValidationFailed,
      e.message ? `body is not valid JSON: ${e.message}` : 'body is not valid JSON',
    );
  }
  // Other body-parser refusals (unsupported charset or encoding, aborted request) carry their own 4xx.
  const status = e?.status ?? e?.statusCode;
  if (typeof e?.type === 'string' && typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(
      status === 400 ? ErrorCode.ValidationFailed : `GATEWAY.HTTP_${status}`,
      e.message ?? e.type,
    );
  }
  if (typeof e?.code === 'string' && e.code.startsWith('LIMIT_')) {
    return new AppError(ErrorCode.ValidationFailed, `invalid upload: ${e.message}`);
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return new AppError(ErrorCode.NotFound, exception.message);
    if (status === 413)
      return new AppError(ErrorCode.PayloadTooLarge, 'request body is larger than the limit');
    if (status === 400) return new AppError(ErrorCode.ValidationFailed, exception.message);
    if (status < 500) return new AppError(`GATEWAY.HTTP_${status}`, exception.message);
    if (status === 503) return new AppError('GATEWAY.UNAVAILABLE', exception.message);
  }
  return new AppError(ErrorCode.Internal, 'internal error');
}

function describe(exception: unknown): string {
  return exception instanceof Error ? (exception.stack ?? exception.message) : JSON.stringify(exception);
}
