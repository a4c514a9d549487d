import type { RequestMeta } from './request-context.js';

/** What every transport carries: the caller's request metadata beside the message itself. */
export interface Envelope<T = unknown> {
  meta: RequestMeta;
  payload: T;
}

export function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const meta = (value as Envelope).meta;
  return (
    typeof meta === 'object' &&
    meta !== null &&
    typeof meta.requestId === 'string' &&
    typeof meta.deadline === 'number' &&
    'payload' in value
  );
}

/** The handle a message handler receives with @Ctx(): who asked, and until when. */
export class TransportContext {
  constructor(
    readonly pattern: string,
    readonly meta: RequestMeta,
  ) {}

  getArgs(): unknown[] {
    return [this.pattern, this.meta];
  }
}
