import { randomBytes } from 'node:crypto';
import { Tracing } from './tracing.js';

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The trace context a request is given at the edge (RequestMeta.traceparent): the active span's
 * traceparent when tracing is on (the HTTP server span, itself the child of the client's), else the
 * client's traceparent when well formed, else the start of a new trace.
 */
export function requestTraceparent(given: string | undefined): string {
  const active = Tracing.activeTraceparent();
  if (active) return active;
  if (given && TRACEPARENT.test(given)) return given;
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}
