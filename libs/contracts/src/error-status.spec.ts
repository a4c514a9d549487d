import { describe, expect, it } from 'vitest';
import { hasListedStatus, httpStatusOf } from './error-status.js';
import { AppError, ErrorCode } from './errors.js';

describe('the code-to-status table', () => {
  it('lists every shared code', () => {
    expect(Object.values(ErrorCode).filter((code) => !hasListedStatus(code))).toEqual([]);
  });

  it('answers the statuses the contract documents', () => {
    expect(httpStatusOf(ErrorCode.ValidationFailed)).toBe(400);
    expect(httpStatusOf('INGESTION.COLLECTION_NOT_FOUND')).toBe(404);
    expect(httpStatusOf(ErrorCode.PayloadTooLarge)).toBe(413);
    expect(httpStatusOf(ErrorCode.RetrievalUnavailable)).toBe(503);
    expect(httpStatusOf(ErrorCode.TransportTimeout)).toBe(504);
  });

  it('keeps a framework refusal its own status, a circuit-open target 503, anything unknown 500', () => {
    expect(httpStatusOf('GATEWAY.HTTP_415')).toBe(415);
    expect(httpStatusOf('GATEWAY.HTTP_502')).toBe(500);
    expect(httpStatusOf('EMBEDDER.BGE-SMALL.UNAVAILABLE')).toBe(503);
    expect(httpStatusOf('SOMETHING.NEW')).toBe(500);
  });

  it('gives an error the status of its code, on the wire too', () => {
    const error = new AppError('INGESTION.JOB_NOT_FOUND', 'no job');
    expect(error.status).toBe(404);
    expect(error.toJSON()).toMatchObject({ code: 'INGESTION.JOB_NOT_FOUND', status: 404 });
  });
});
