import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RawEntry, StreamState } from './redis-streams.held.js';
import type { ReplyPublisher } from './redis-streams.replies.js';
import { EntryField, fieldMap, INTERNAL_ERROR } from './redis-streams.wire.js';

/**
 * The pending lists of a replica's groups. A live replica keeps the idle time of what it holds near zero,
 * so peers never take its work; entries left idle by a replica that died are claimed, and an entry that
 * has crashed or stalled every replica that took it is answered with an internal error and dropped.
 */
export interface PendingReclaimerOptions {
  commands: Redis;
  context: string;
  consumer: string;
  /** How long an entry may sit unacknowledged in a silent replica's hands before a peer claims it. */
  claimIdleMs: number;
  log: Logger;
  replies: ReplyPublisher;
}

/** An entry delivered more often than this has crashed or stalled every replica that took it. */
const MAX_DELIVERIES = 5;

type ClaimReply = [cursor: string, entries: [id: string, fields: string[] | null][], deleted?: string[]];
type PendingRow = [id: string, consumer: string, idleMs: number, deliveries: number];

export class PendingReclaimer {
  private refreshing = false;

  constructor(private readonly options: PendingReclaimerOptions) {}

  /** Resets the idle time of everything in hand, so that peers see this replica is still at work. */
  async refresh(streams: readonly StreamState[]): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const { commands, context, consumer } = this.options;
      const pipeline = commands.pipeline();
      for (const stream of streams) {
        if (stream.held.size > 0) {
          pipeline.xclaim(stream.key, context, consumer, 0, ...stream.held.keys(), 'JUSTID');
        }
      }
      if (pipeline.length > 0) await pipeline.exec();
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * Takes over entries left idle by dead replicas, as far as `free()` slots allow, and hands them to
   * `accept`; entries delivered too often are given up instead.
   */
  async claim(
    streams: readonly StreamState[],
    free: () => number,
    accept: (stream: StreamState, entries: RawEntry[]) => void,
  ): Promise<void> {
    const { commands, context, consumer, claimIdleMs } = this.options;
    for (const stream of streams) {
      const slots = free();
      if (slots <= 0) break;
      const [cursor, claimed] = (await commands.xautoclaim(
        stream.key,
        context,
        consumer,
        claimIdleMs,
        stream.cursor,
        'COUNT',
        slots,
      )) as ClaimReply;
      stream.cursor = cursor;
      const entries = claimed.filter(
        (entry): entry is RawEntry => entry[1] !== null && !stream.held.has(entry[0]),
      );
      if (entries.length === 0) continue;
      const deliveries = await this.deliveries(stream, entries);
      const poisoned = entries.filter(([id]) => (deliveries.get(id) ?? 0) > MAX_DELIVERIES);
      await Promise.all(poisoned.map((entry) => this.giveUp(stream, entry)));
      accept(
        stream,
        entries.filter((entry) => !poisoned.includes(entry)),
      );
    }
  }

  private async deliveries(stream: StreamState, entries: RawEntry[]): Promise<Map<string, number>> {
    const rows = (await this.options.commands.xpending(
      stream.key,
      this.options.context,
      entries[0][0],
      entries[entries.length - 1][0],
      entries.length + stream.held.size,
      this.options.consumer,
    )) as PendingRow[];
    return new Map(rows.map(([id, , , count]) => [id, Number(count)]));
  }

  private async giveUp(stream: StreamState, [entryId, flat]: RawEntry): Promise<void> {
    const { context, log, replies } = this.options;
    const fields = fieldMap(flat);
    const pattern = fields[EntryField.Pattern];
    log.error(`${context}: gave up on ${pattern} (${entryId}) after ${MAX_DELIVERIES} deliveries`);
    const id = fields[EntryField.Id];
    const reply = fields[EntryField.Reply];
    if (stream.kind === 'request' && id && reply) {
      await replies.reply(stream, entryId, reply, { id, err: INTERNAL_ERROR });
    } else {
      await replies.ack(stream, [entryId]);
    }
  }
}
