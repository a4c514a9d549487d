import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  Optional,
} from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import { Observable, type Subscription } from 'rxjs';
import { TransportContext } from '#platform';
import { Metrics, secondsSince } from '../metrics/metrics.service.js';
import { Tracing } from './tracing.js';

/**
 * The handler's end of a call between contexts, whatever transport carried it: a consumer span, the
 * child of the caller's producer span (whose traceparent the envelope carries), active while the handler
 * runs so its database queries and model calls nest under it; and the handler's time by pattern.
 */
@Injectable()
export class MessageSpanInterceptor implements NestInterceptor {
  private readonly metrics: Metrics;

  constructor(@Optional() metrics?: Metrics) {
    this.metrics = metrics ?? Metrics.detached();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const transport = context.switchToRpc().getContext<unknown>();
    if (!(transport instanceof TransportContext)) return next.handle();
    const { pattern, meta } = transport;
    return new Observable((subscriber) => {
      const started = performance.now();
      const span = Tracing.startSpan(`${pattern} process`, {
        kind: SpanKind.CONSUMER,
        parent: Tracing.contextOf(meta.traceparent),
        attributes: { 'messaging.operation.type': 'process', 'messaging.destination.name': pattern },
      });
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        this.metrics.transport.handledMessage(pattern, error ? 'error' : 'ok', secondsSince(started));
        if (span) {
          if (error) Tracing.fail(span, error);
          span.end();
        }
      };
      // next.handle() binds the handler to the context it is called in: call it with the span active.
      let inner: Subscription | undefined;
      Tracing.with(span, () => {
        inner = next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            end(error);
            subscriber.error(error);
          },
          complete: () => {
            end();
            subscriber.complete();
          },
        });
      });
      return () => {
        inner?.unsubscribe();
        end();
      };
    });
  }
}
