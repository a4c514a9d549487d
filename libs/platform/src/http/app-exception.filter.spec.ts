import {
  BadRequestException,
  ForbiddenException,
  type ArgumentsHost,
  InternalServerErrorException,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { firstValueFrom, type Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { AppError, ErrorCode } from '#contracts';
import { AppExceptionFilter, toAppError } from './app-exception.filter.js';

/** The error mapping: framework, body-parser and multer errors onto stable codes; nothing else leaks. */

describe('toAppError', () => {
  it('returns an AppError as is', () => {
    const error = new AppError('INGESTION.COLLECTION_NOT_FOUND', 'no collection docs', { name: 'docs' });
    expect(toAppError(error)).toBe(error);
  });

  describe('body-parser errors', () => {
    it('maps entity.too.large to 413 GATEWAY.PAYLOAD_TOO_LARGE', () => {
      const error = toAppError(
        Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 }),
      );
      expect(error).toMatchObject({
        code: 'GATEWAY.PAYLOAD_TOO_LARGE',
        status: 413,
        message: 'request body is larger than the limit',
      });
    });

    it('maps entity.parse.failed to 400 GATEWAY.VALIDATION_FAILED naming the JSON problem', () => {
      const error = toAppError(
        Object.assign(new SyntaxError('Unexpected token } in JSON at position 9'), {
          type: 'entity.parse.failed',
          status: 400,
        }),
      );
      expect(error).toMatchObject({
        code: 'GATEWAY.VALIDATION_FAILED',
        status: 400,
        message: 'body is not valid JSON: Unexpected token } in JSON at position 9',
      });
    });

    it('maps entity.parse.failed without a message to 400', () => {
      expect(toAppError({ type: 'entity.parse.failed' })).toMatchObject({
        code: 'GATEWAY.VALIDATION_FAILED',
        status: 400,
      });
    });
  });

  describe('multer errors', () => {
    it('maps LIMIT_FILE_SIZE to 413 GATEWAY.PAYLOAD_TOO_LARGE', () => {
      const error = toAppError(Object.assign(new Error('File too large'), { code: 'LIMIT_FILE_SIZE' }));
      expect(error).toMatchObject({ code: 'GATEWAY.PAYLOAD_TOO_LARGE', status: 413 });
    });

    it('maps any other upload limit to 400 naming the limit', () => {
      const error = toAppError(Object.assign(new Error('Too many files'), { code: 'LIMIT_FILE_COUNT' }));
      expect(error).toMatchObject({
        code: 'GATEWAY.VALIDATION_FAILED',
        status: 400,
        message: 'invalid upload: Too many files',
      });
    });
  });

  describe('Nest HTTP exceptions', () => {
    it('maps NotFoundException to 404 GATEWAY.NOT_FOUND', () => {
      expect(toAppError(new NotFoundException('Cannot GET /nowhere'))).toMatchObject({
        code: 'GATEWAY.NOT_FOUND',
        status: 404,
        message: 'Cannot GET /nowhere',
      });
    });

    it('maps BadRequestException to 400 GATEWAY.VALIDATION_FAILED', () => {
      expect(toAppError(new BadRequestException('Multipart: Unexpected end of form'))).toMatchObject({
        code: 'GATEWAY.VALIDATION_FAILED',
        status: 400,
        message: 'Multipart: Unexpected end of form',
      });
    });

    it('maps PayloadTooLargeException to 413 GATEWAY.PAYLOAD_TOO_LARGE', () => {
      expect(toAppError(new PayloadTooLargeException())).toMatchObject({
        code: 'GATEWAY.PAYLOAD_TOO_LARGE',
        status: 413,
      });
    });

    it('keeps the status of another 4xx under a code naming it', () => {
      expect(toAppError(new ForbiddenException('no'))).toMatchObject({
        code: 'GATEWAY.HTTP_403',
        status: 403,
        message: 'no',
      });
    });

    it('hides a 5xx HttpException behind the generic internal error', () => {
      expect(toAppError(new InternalServerErrorException('pool exhausted at db-3'))).toMatchObject({
        code: 'GATEWAY.INTERNAL',
        status: 500,
        message: 'internal error',
      });
    });
  });

  describe('anything else', () => {
    it('maps an unknown Error to 500 GATEWAY.INTERNAL without its message', () => {
      const error = toAppError(new Error('password=hunter2 at /srv/secret.ts:12'));
      expect(error).toMatchObject({ code: 'GATEWAY.INTERNAL', status: 500, message: 'internal error' });
      expect(error.details).toBeUndefined();
      expect(JSON.stringify(error.toJSON())).not.toContain('hunter2');
    });

    it.each([null, undefined, 'boom', 42])('maps the thrown value %j to 500 GATEWAY.INTERNAL', (thrown) => {
      expect(toAppError(thrown)).toMatchObject({ code: 'GATEWAY.INTERNAL', status: 500 });
    });
  });
});

describe('AppExceptionFilter', () => {
  let logError: MockInstance;

  beforeEach(() => {
    logError = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  function httpHost(request: { requestId?: string } = {}, headersSent = false) {
    const res = {
      headersSent,
      status: vi.fn(),
      json: vi.fn(),
      setHeader: vi.fn(),
      hasHeader: vi.fn(() => false),
      end: vi.fn(),
    };
    res.status.mockReturnValue(res);
    const host = {
      getType: () => 'http',
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => res }),
    } as unknown as ArgumentsHost;
    return { host, res };
  }

  it('answers over HTTP with the error body, its status and the request id', () => {
    const { host, res } = httpHost({ requestId: 'req-1' });
    new AppExceptionFilter().catch(
      new AppError(ErrorCode.ValidationFailed, 'invalid body', { issues: [] }),
      host,
    );
    expect(res.status).toHaveBeenCalledWith(400);
    expect(res.json).toHaveBeenCalledWith({
      error: {
        code: 'GATEWAY.VALIDATION_FAILED',
        message: 'invalid body',
        requestId: 'req-1',
        details: { issues: [] },
      },
    });
    expect(res.setHeader).not.toHaveBeenCalled();
    expect(logError).not.toHaveBeenCalled();
  });

  it('logs an unknown error but answers with the generic message only', () => {
    const { host, res } = httpHost({ requestId: 'req-2' });
    new AppExceptionFilter().catch(new Error('secret detail'), host);
    expect(res.status).toHaveBeenCalledWith(500);
    expect(res.json).toHaveBeenCalledWith({
      error: { code: 'GATEWAY.INTERNAL', message: 'internal error', requestId: 'req-2' },
    });
    expect(logError).toHaveBeenCalledWith(expect.stringContaining('secret detail'));
  });

  it('asks the client to retry a 503', () => {
    const { host, res } = httpHost();
    new AppExceptionFilter().catch(new AppError(ErrorCode.DatabaseUnavailable, 'down'), host);
    expect(res.setHeader).toHaveBeenCalledWith('Retry-After', '5');
    expect(res.status).toHaveBeenCalledWith(503);
  });

  it('only ends a response whose headers are already sent', () => {
    const { host, res } = httpHost({}, true);
    new AppExceptionFilter().catch(new NotFoundException(), host);
    expect(res.end).toHaveBeenCalledTimes(1);
    expect(res.status).not.toHaveBeenCalled();
    expect(res.json).not.toHaveBeenCalled();
  });

  it('rethrows over a transport as the serialised error', async () => {
    const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;
    const filter = new AppExceptionFilter();

    const ours = filter.catch(
      new AppError('INGESTION.DOCUMENT_NOT_FOUND', 'no doc'),
      host,
    ) as Observable<unknown>;
    await expect(firstValueFrom(ours)).rejects.toEqual({
      code: 'INGESTION.DOCUMENT_NOT_FOUND',
      message: 'no doc',
      status: 404,
      details: undefined,
    });

    const foreign = filter.catch(new Error('secret detail'), host) as Observable<unknown>;
    await expect(firstValueFrom(foreign)).rejects.toEqual({
      code: 'INTERNAL.ERROR',
      message: 'internal error',
      status: 500,
    });
    expect(logError).toHaveBeenCalledTimes(1);
  });
});
