import type { LoggerService } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppError, ErrorCode, httpStatusOf, type SerializedError } from '#contracts';
import { type Envelope, isEnvelope } from '#platform';

/**
 * What the streams transport puts on the wire, shared by its client and server: the fields of a stream
 * entry, the reply message, the stream bounds and the transport's own errors.
 */

/** Fields of a request entry; an event entry carries pattern, deadline and data. */
export const EntryField = {
  Pattern: 'pattern',
  Id: 'id',
  Reply: 'reply',
  Deadline: 'deadline',
  Data: 'data',
} as const;

/** Published on the caller's reply channel; `err` is absent when the handler succeeded. */
/**
 * A reply. A handler that returns an Observable streams: each value goes as its own message with `more`
 * and `by` (the replica producing it), then a last message without `more` ends the stream (with `err`
 * if it failed). Any other handler answers with one message.
 */
export interface ReplyMessage {
  id: string;
  response?: unknown;
  err?: SerializedError;
  more?: true;
  by?: string;
}

/**
 * Approximate caps on stream length. Handled requests are deleted at once, so the request cap only bites
 * on a backlog no replica drains; events are shared by every group and are only trimmed by this cap.
 */
export const REQUEST_STREAM_MAXLEN = 100_000;
export const EVENT_STREAM_MAXLEN = 10_000;

export const TransportErrorCode = {
  NoReplica: 'TRANSPORT.NO_REPLICA',
} as const;

/** A transport error on the wire, its status from the one table. */
function wireError(code: string, message: string): SerializedError {
  return { code, message, status: httpStatusOf(code) };
}

export const INTERNAL_ERROR: SerializedError = wireError('INTERNAL.ERROR', 'internal error');

export function noReplicaError(context: string): SerializedError {
  return wireError(TransportErrorCode.NoReplica, `no live replica of ${context}`);
}

export function timeoutError(pattern: string): SerializedError {
  return wireError(ErrorCode.TransportTimeout, `${pattern} did not answer before its deadline`);
}

/** The replica holding a call died, and the call could not be handed to another (not idempotent). */
export function replicaDiedError(pattern: string): SerializedError {
  return unavailableError(`the replica handling ${pattern} died before answering`);
}

export function unavailableError(message: string): SerializedError {
  return wireError(ErrorCode.TransportUnavailable, message);
}

export function invalidMessageError(message = 'a message must carry meta and payload'): SerializedError {
  return new AppError(ErrorCode.ValidationFailed, message).toJSON();
}

/** `retrieval.search` → `retrieval`; undefined when the pattern names no context. */
export function contextOfPattern(pattern: string): string | undefined {
  const dot = pattern.indexOf('.');
  return dot > 0 ? pattern.slice(0, dot) : undefined;
}

/** The envelope in an entry's data field, or undefined when it is not JSON of one. */
export function parseEnvelope(data: string | undefined): Envelope | undefined {
  if (data === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return isEnvelope(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Redis returns an entry's fields as a flat [name, value, name, value, …] list. */
export function fieldMap(flat: readonly unknown[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
  return fields;
}

/**
 * ioredis emits an error on every failed reconnect attempt; one warning per outage (and one line when the
 * connection is back) says the same without flooding the log.
 */
export function logOutages(redis: Redis, log: LoggerService, name: string): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn(`${name}: Redis unreachable (${error.message}); reconnecting`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.log(`${name}: Redis connection restored`);
  });
}

/** Quits politely when connected; otherwise drops the socket and whatever waits for a reconnect. */
export async function quit(redis: Redis | undefined): Promise<void> {
  if (!redis || redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message);
  return String(error);
}
