import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, Observable, timeout as rxTimeout, TimeoutError, type Subscription } from 'rxjs';
import { AppError, ContextName, ErrorCode, type Pattern } from '#contracts';
import { CONFIG, type AppConfig, RequestContext, type RequestMeta, ResilienceService } from '#platform';
import { Metrics, secondsSince, SpanKind, Tracing } from '#observability';
import type { CallOutcome } from '#observability';
import type { Envelope } from '#platform';

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
 * deadline, is bounded by it, and passes through the resilience policy of its pattern: a breaker per
 * pattern, so a failing re-ranking model (a stage with a fallback) does not cut off search.
 */
@Injectable()
export class ContextCaller {
  private readonly metrics: Metrics;

  constructor(
    @Inject(CONTEXT_CLIENTS) private readonly clients: ContextClients,
    private readonly resilience: ResilienceService,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Optional() metrics?: Metrics,
  ) {
    this.metrics = metrics ?? Metrics.detached();
  }

  /**
   * A call: the producer span (whose traceparent the envelope carries, so the handler's consumer span
   * is its child) and the call's latency and outcome by target.
   */
  async call<T>(pattern: Pattern, payload: unknown, options: { timeoutMs?: number } = {}): Promise<T> {
    const started = performance.now();
    try {
      const result = await Tracing.inSpan(`${pattern} send`, producerSpan(pattern), () =>
        this.send<T>(pattern, payload, options),
      );
      this.metrics.transport.call(pattern, 'ok', secondsSince(started));
      return result;
    } catch (error) {
      this.metrics.transport.call(pattern, outcomeOf(error), secondsSince(started));
      throw error;
    }
  }

  private async send<T>(pattern: Pattern, payload: unknown, options: { timeoutMs?: number }): Promise<T> {
    const context = contextOf(pattern);
    const meta = this.meta(options.timeoutMs ?? this.config.callTimeoutMs);
    const remaining = meta.deadline - Date.now();
    if (remaining <= 0) throw new AppError(ErrorCode.TransportTimeout, `no time left to call ${pattern}`);
    const envelope: Envelope = { meta, payload };
    return this.resilience.execute(pattern, async () => {
      try {
        return await firstValueFrom(
          this.clients.clientFor(context).send<T>(pattern, envelope).pipe(rxTimeout(remaining)),
        );
      } catch (error) {
        if (error instanceof TimeoutError) {
          throw new AppError(ErrorCode.TransportTimeout, `${pattern} did not answer within ${remaining} ms`);
        }
        if (AppError.isSerialized(error)) throw AppError.fromSerialized(error);
        throw error;
      }
    });
  }

  /**
   * A call whose reply is a stream of values (the handler returns an Observable). The whole stream is
   * bounded by the deadline and holds a place in the target's bulkhead while it runs; a stream that
   * fails counts against the target's breaker. Unsubscribing cancels it at the replica producing it.
   */
  stream<T>(pattern: Pattern, payload: unknown, options: { timeoutMs?: number } = {}): Observable<T> {
    return new Observable<T>((subscriber) => {
      const started = performance.now();
      const span = Tracing.startSpan(`${pattern} send`, producerSpan(pattern));
      const context = contextOf(pattern);
      const meta = Tracing.with(span, () => this.meta(options.timeoutMs ?? this.config.callTimeoutMs));
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        this.metrics.transport.call(pattern, error ? outcomeOf(error) : 'ok', secondsSince(started));
        if (error && span) Tracing.fail(span, error);
        span?.end();
      };
      const remaining = meta.deadline - Date.now();
      let inner: Subscription | undefined;
      let stop: (() => void) | undefined;
      let deadline: NodeJS.Timeout | undefined;
      this.resilience
        .execute(
          pattern,
          () =>
            new Promise<void>((resolve, reject) => {
              if (remaining <= 0) {
                reject(new AppError(ErrorCode.TransportTimeout, `no time left to call ${pattern}`));
                return;
              }
              stop = resolve;
              deadline = setTimeout(() => {
                inner?.unsubscribe();
                reject(
                  new AppError(
                    ErrorCode.TransportTimeout,
                    `${pattern} did not finish within ${remaining} ms`,
                  ),
                );
              }, remaining);
              inner = this.clients
                .clientFor(context)
                .send<T>(pattern, { meta, payload } satisfies Envelope)
                .subscribe({
                  next: (value) => subscriber.next(value),
                  error: (error: unknown) =>
                    reject(
                      AppError.isSerialized(error)
                        ? AppError.fromSerialized(error)
                        : error instanceof Error
                          ? error
                          : new Error(String(error)),
                    ),
                  complete: () => resolve(),
                });
            }),
        )
        .then(
          () => {
            end();
            subscriber.complete();
          },
          (error: unknown) => {
            end(error);
            subscriber.error(error);
          },
        )
        .finally(() => clearTimeout(deadline));
      return () => {
        // The caller went away: cancel upstream and give the bulkhead its place back.
        inner?.unsubscribe();
        stop?.();
        end();
      };
    });
  }

  private meta(timeoutMs: number): RequestMeta {
    const current = RequestContext.current();
    const ownDeadline = Date.now() + timeoutMs;
    // With tracing on, the hop's parent is this call's producer span; off, the request's traceparent.
    const traceparent = Tracing.activeTraceparent() ?? current?.traceparent;
    return current
      ? { ...current, deadline: Math.min(current.deadline, ownDeadline), ...(traceparent && { traceparent }) }
      : {
          requestId: RequestContext.newRequestId(),
          deadline: ownDeadline,
          ...(traceparent && { traceparent }),
        };
  }
}

function producerSpan(pattern: string) {
  return {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.operation.type': 'send', 'messaging.destination.name': pattern },
  };
}

/** How a failed call ended, by the error's status: bounded labels for the call metrics. */
function outcomeOf(error: unknown): CallOutcome {
  const status = error instanceof AppError ? error.status : 500;
  if (status === 504) return 'timeout';
  if (status === 503) return 'unavailable';
  return status < 500 ? 'client_error' : 'error';
}
