import { Inject, Injectable } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout as rxTimeout, TimeoutError } from 'rxjs';
import { AppError, ContextName, ErrorCode, type Pattern } from '#contracts';
import { CONFIG, type AppConfig } from '../config/app-config.js';
import { RequestContext, type RequestMeta } from '../context/request-context.js';
import { ResilienceService } from '../resilience/resilience.service.js';
import type { Envelope } from './envelope.js';

/** Resolves the client that reaches a context: in-process when hosted here, a remote transport otherwise. */
export interface ContextClients {
  clientFor(context: ContextName): ClientProxy;
  /** The contexts reached remotely, with the replicas alive now (empty when all are hosted here). */
  remoteReplicas(): Promise<Partial<Record<ContextName, string[]>>>;
  close(): Promise<void>;
}
export const CONTEXT_CLIENTS = Symbol('ContextClients');

export function contextOf(pattern: string): ContextName {
  return pattern.slice(0, pattern.indexOf('.')) as ContextName;
}

/**
 * The one place where calls cross a context boundary. Every call carries the request id and the
 * deadline, is bounded by it, and passes through the target context's resilience policy.
 */
@Injectable()
export class ContextCaller {
  constructor(
    @Inject(CONTEXT_CLIENTS) private readonly clients: ContextClients,
    private readonly resilience: ResilienceService,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async call<T>(pattern: Pattern, payload: unknown, options: { timeoutMs?: number } = {}): Promise<T> {
    const context = contextOf(pattern);
    const meta = this.meta(options.timeoutMs ?? this.config.callTimeoutMs);
    const remaining = meta.deadline - Date.now();
    if (remaining <= 0)
      throw new AppError(ErrorCode.TransportTimeout, `no time left to call ${pattern}`, 504);
    const envelope: Envelope = { meta, payload };
    return this.resilience.execute(context, async () => {
      try {
        return await firstValueFrom(
          this.clients.clientFor(context).send<T>(pattern, envelope).pipe(rxTimeout(remaining)),
        );
      } catch (error) {
        if (error instanceof TimeoutError) {
          throw new AppError(
            ErrorCode.TransportTimeout,
            `${pattern} did not answer within ${remaining} ms`,
            504,
          );
        }
        if (AppError.isSerialized(error)) throw AppError.fromSerialized(error);
        throw error;
      }
    });
  }

  private meta(timeoutMs: number): RequestMeta {
    const current = RequestContext.current();
    const ownDeadline = Date.now() + timeoutMs;
    return current
      ? { ...current, deadline: Math.min(current.deadline, ownDeadline) }
      : { requestId: RequestContext.newRequestId(), deadline: ownDeadline };
  }
}
