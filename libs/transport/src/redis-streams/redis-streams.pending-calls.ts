import type { Logger } from '@nestjs/common';
import type { WritePacket } from '@nestjs/microservices';
import type { SerializedError } from '#contracts';
import type { Envelope } from '#platform';
import { type ReplyMessage, unavailableError } from './redis-streams.wire.js';

/**
 * The calling side's calls in flight, by request id: each waits for its reply on the caller's channel
 * until it is settled (answered, failed, timed out) or abandoned. Replies are matched to calls here, and
 * the values of a streamed reply are passed on as they come.
 */
export interface PendingCall {
  callback: (packet: WritePacket) => void;
  timer: NodeJS.Timeout;
  pattern: string;
  context: string;
  envelope: Envelope;
  /** When the current request entry was sent. */
  sentAt: number;
  /** The current request entry, once it is in the stream. */
  entryId?: string;
  /** The replica streaming the reply, once its first value came. */
  by?: string;
  resends: number;
}

export type Settlement = { err: SerializedError } | { response: unknown };

export class PendingCalls {
  private readonly calls = new Map<string, PendingCall>();

  constructor(
    private readonly log: Logger,
    private readonly replyChannel: string,
  ) {}

  get size(): number {
    return this.calls.size;
  }

  get(id: string): PendingCall | undefined {
    return this.calls.get(id);
  }

  add(id: string, call: PendingCall): void {
    this.calls.set(id, call);
  }

  entries(): IterableIterator<[string, PendingCall]> {
    return this.calls.entries();
  }

  /** Fails every call still waiting (the client is closing). */
  failAll(reason: string): void {
    for (const id of [...this.calls.keys()]) this.settle(id, { err: unavailableError(reason) });
  }

  /** A message on the reply channel: one value of a streamed reply, or a call's outcome. */
  receive(message: string): void {
    let reply: ReplyMessage | undefined;
    try {
      reply = JSON.parse(message) as ReplyMessage;
    } catch {
      reply = undefined;
    }
    if (typeof reply !== 'object' || reply === null || typeof reply.id !== 'string') {
      this.log.warn(`ignored a malformed reply on ${this.replyChannel}`);
      return;
    }
    if (reply.more) this.stream(reply);
    else if (reply.err !== undefined) this.settle(reply.id, { err: reply.err });
    else this.settle(reply.id, { response: reply.response });
  }

  settle(id: string, packet: Settlement): void {
    const pending = this.calls.get(id);
    if (!pending) return;
    this.forget(id);
    pending.callback({ ...packet, isDisposed: true });
  }

  forget(id: string): void {
    const pending = this.calls.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.calls.delete(id);
  }

  /**
   * One value of a streamed reply. A stream is produced by one replica from start to end: values from
   * another (a peer that claimed the request after the first replica died, and started over) would
   * repeat what the caller already has, so the call fails instead.
   */
  private stream(reply: ReplyMessage): void {
    const pending = this.calls.get(reply.id);
    if (!pending) return;
    if (pending.by !== undefined && pending.by !== reply.by) {
      this.settle(reply.id, {
        err: unavailableError('the replica streaming this reply stopped before the end'),
      });
      return;
    }
    pending.by = reply.by;
    pending.callback({ response: reply.response, isDisposed: false });
  }
}
