import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

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
  /** Milliseconds left before the current request's deadline (Infinity outside a request). */
  remainingMs(): number {
    const meta = storage.getStore();
    return meta ? meta.deadline - Date.now() : Number.POSITIVE_INFINITY;
  },
};
