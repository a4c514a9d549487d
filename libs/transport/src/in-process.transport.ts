import { Logger } from '@nestjs/common';
import {
  ClientProxy,
  type ReadPacket,
  Server,
  type WritePacket,
  type CustomTransportStrategy,
} from '@nestjs/microservices';
import { defer, isObservable, lastValueFrom, map, mergeMap, Observable } from 'rxjs';
import { AppError, ErrorCode } from '#contracts';
import { RequestContext, serializeError, isEnvelope, TransportContext } from '#platform';

/**
 * The in-process transport: contexts hosted by this process answer their message patterns through Nest's
 * microservice machinery (pipes, filters, @MessagePattern), exactly as they will over Redis, but the
 * packet never leaves the process. Payloads and replies are copied through JSON so a handler sees what it
 * would see after a network hop, and the monolith answers byte for byte as the distributed deployment.
 */
export class InProcessServer extends Server implements CustomTransportStrategy {
  private readonly log = new Logger('InProcessServer');

  listen(callback: () => void): void {
    callback();
  }

  close(): void {}

  on(): void {
    throw new Error('the in-process transport emits no events');
  }

  unwrap<T>(): T {
    throw new Error('the in-process transport has no underlying client');
  }

  hasPattern(pattern: string): boolean {
    return this.messageHandlers.has(pattern);
  }

  /**
   * Runs the handler of a request pattern: its serialised reply, or each value of the Observable it
   * returned (a streamed reply). Unsubscribing stops the handler's Observable, as a cancel does remotely.
   */
  dispatch(pattern: string, data: unknown): Observable<unknown> {
    return defer(async () => {
      if (!isEnvelope(data))
        throw new AppError(ErrorCode.ValidationFailed, 'a message must carry meta and payload');
      const handler = this.getHandlerByPattern(pattern);
      if (!handler) {
        throw new AppError(ErrorCode.TransportUnavailable, `no handler for ${pattern} in this process`);
      }
      const { meta, payload } = copy(data);
      if (Date.now() >= meta.deadline) {
        throw new AppError(ErrorCode.TransportTimeout, `deadline passed before ${pattern} was processed`);
      }
      const result = await RequestContext.run(meta, () =>
        handler(payload, new TransportContext(pattern, meta)),
      );
      if (isObservable(result)) return result;
      return this.transformToObservable(
        await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined }),
      );
    }).pipe(
      mergeMap((values) => values),
      map((value) => copy(value)),
    );
  }

  /** Events reach every handler registered for the pattern in this process; errors are logged, not thrown. */
  async dispatchEvent(pattern: string, data: unknown): Promise<void> {
    const handler = this.getHandlerByPattern(pattern);
    if (!handler || !isEnvelope(data)) return;
    const { meta, payload } = copy(data);
    await RequestContext.run(meta, async () => {
      try {
        await lastValueFrom(
          this.transformToObservable(await handler(payload, new TransportContext(pattern, meta))),
          {
            defaultValue: undefined,
          },
        );
      } catch (error) {
        this.log.error(`event ${pattern} failed: ${(error as Error).message}`);
      }
    });
  }
}

export class InProcessClient extends ClientProxy {
  constructor(private readonly server: InProcessServer) {
    super();
  }

  async connect(): Promise<void> {}

  close(): void {}

  unwrap<T>(): T {
    return this.server as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const subscription = this.server.dispatch(packet.pattern as string, packet.data).subscribe({
      next: (response) => callback({ response, isDisposed: false }),
      error: (err: unknown) => callback({ err: serializeError(err), isDisposed: true }),
      complete: () => callback({ isDisposed: true }),
    });
    return () => subscription.unsubscribe();
  }

  protected async dispatchEvent<T>(packet: ReadPacket): Promise<T> {
    await this.server.dispatchEvent(packet.pattern as string, packet.data);
    return undefined as T;
  }
}

function copy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
