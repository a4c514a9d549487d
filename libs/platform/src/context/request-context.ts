import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { Tracing } from '../observability/tracing/tracing.js';

/**
 * What travels with a request across every hop: its id (for logs and error bodies) and its deadline
 * (epoch ms), so no stage works on a request whose caller has given up.
 */
export interface RequestMeta {
  requestId: string;
  deadline: number;
  /** W3C trace context of the request (`traceparent`), carried unchanged across every hop. */
  traceparent?: string;
}

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

const storage = new AsyncLocalStorage<RequestMeta>();

export const RequestContext = {
  run<T>(meta: RequestMeta, fn: () => T): T {
    return storage.run(meta, fn);
  },
  current(): RequestMeta | undefined {
    return storage.getStore();
  },
  newRequestId(): string {
    return randomUUID();
  },
  /**
   * The active span's traceparent when tracing is on (the HTTP server span, itself the child of the
   * client's), else the client's traceparent when well formed, else the start of a new trace.
   */
  traceparent(given: string | undefined): string {
    const active = Tracing.activeTraceparent();
    if (active) return active;
    if (given && TRACEPARENT.test(given)) return given;
    return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  },
  /** Milliseconds left before the current request's deadline (Infinity outside a request). */
  remainingMs(): number {
    const meta = storage.getStore();
    return meta ? meta.deadline - Date.now() : Number.POSITIVE_INFINITY;
  },
};
