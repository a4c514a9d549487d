import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Observable, Subscription } from 'rxjs';
import type { SerializedError } from '#contracts';
import { RequestContext, serializeError } from '#platform';
import type { Envelope } from '#platform';
import type { HeldEntry, Quietly, StreamState } from './redis-streams.held.js';
import {
  INTERNAL_ERROR,
  messageOf,
  type ReplyMessage,
  timeoutError,
  unavailableError,
} from './redis-streams.wire.js';

/**
 * The serving side's replies: an outcome is published on the caller's channel and its request entry
 * acknowledged and deleted in one step; a streamed reply is published value by value until it ends, passes
 * its deadline or the caller cancels it. Entries with nobody to answer are only acknowledged.
 */
export type Outcome = { response: unknown } | { err: SerializedError };

export interface ReplyPublisherOptions {
  commands: Redis;
  context: string;
  consumer: string;
  log: Logger;
  quietly: Quietly;
}

export class ReplyPublisher {
  /** Streamed replies in progress, by request id, with what stops them. */
  private readonly streaming = new Map<string, () => void>();

  constructor(private readonly options: ReplyPublisherOptions) {}

  /** The caller of request `id` gave up on its streamed reply (heard on this replica's cancel channel). */
  cancel(id: string): void {
    this.streaming.get(id)?.();
  }

  async reply(stream: StreamState, entryId: string, channel: string, message: ReplyMessage): Promise<void> {
    const { commands, context } = this.options;
    await commands
      .multi()
      .publish(channel, this.encode(message))
      .xack(stream.key, context, entryId)
      .xdel(stream.key, entryId)
      .exec();
  }

  /** Handled requests are deleted; events stay, other groups may not have read them yet. */
  async ack(stream: StreamState, ids: string[]): Promise<void> {
    const tx = this.options.commands.multi().xack(stream.key, this.options.context, ...ids);
    if (stream.kind === 'request') tx.xdel(stream.key, ...ids);
    await tx.exec();
  }

  /**
   * Publishes each value of a streamed reply as it comes (in order: one connection carries them all),
   * until the stream ends, fails, passes its deadline, or the caller cancels it; resolves with the
   * outcome of the last message.
   */
  stream(
    pattern: string,
    id: string,
    channel: string,
    entry: HeldEntry,
    { stream, meta }: { stream: Observable<unknown>; meta: Envelope['meta'] },
  ): Promise<Outcome | { response?: undefined }> {
    const { commands, consumer, quietly } = this.options;
    return new Promise((resolve) => {
      let done = false;
      // Set once subscribed; a stream that ends while subscribing finds it unset and is let go after.
      const held: { subscription?: Subscription } = {};
      const finish = (outcome: Outcome | { response?: undefined }) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        this.streaming.delete(id);
        held.subscription?.unsubscribe();
        resolve(outcome);
      };
      const deadline = setTimeout(() => finish({ err: timeoutError(pattern) }), entry.deadline - Date.now());
      this.streaming.set(id, () => finish({ err: unavailableError('the caller cancelled the call') }));
      held.subscription = RequestContext.run(meta, () =>
        stream.subscribe({
          next: (response) => {
            const message = this.encode({ id, response, more: true, by: consumer });
            void quietly(`stream ${pattern}`, () => commands.publish(channel, message));
          },
          error: (error: unknown) => finish({ err: serializeError(error) as SerializedError }),
          complete: () => finish({}),
        }),
      );
      if (done) held.subscription.unsubscribe();
    });
  }

  private encode(message: ReplyMessage): string {
    try {
      return JSON.stringify(message);
    } catch (error) {
      this.options.log.error(
        `${this.options.context}: reply ${message.id} cannot be serialised: ${messageOf(error)}`,
      );
      return JSON.stringify({ id: message.id, err: INTERNAL_ERROR });
    }
  }
}
