import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { CqrsModule, EventBus, type IEvent } from '@nestjs/cqrs';
import { Redis } from 'ioredis';
import { decodeDomainEvent, encodeDomainEvent } from '#contracts';
import { CONFIG, type AppConfig } from '#platform';
import { logOutages, messageOf, quit } from '../redis-streams/redis-streams.wire.js';

/**
 * Domain events (see #contracts events): published on the CQRS EventBus and, with Redis, carried to
 * every other process of the deployment over one Pub/Sub channel, where they are published on the local
 * EventBus again. A handler therefore runs once in each process that has it, wherever the event was
 * published. Pub/Sub delivers at most once: a process cut off from Redis misses what is published
 * meanwhile, so what reacts to these events (a cache) must also expire on its own.
 */

/** Marks an event that came from another process, so it is not sent back out. */
export const FROM_REMOTE = Symbol('fromRemote');

export function isFromRemote(event: object): boolean {
  return (event as Record<symbol, unknown>)[FROM_REMOTE] === true;
}

/** The Pub/Sub channel of the domain events, under the deployment's prefix like every Redis name. */
export function domainEventsChannel(prefix: string): string {
  return `${prefix}:domain-events`;
}

const COMMAND_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;

@Injectable()
export class DomainEventsBridge implements OnModuleInit, OnApplicationShutdown {
  /** Names this process on the wire: it ignores its own events when Redis echoes them back. */
  readonly processId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly log = new Logger('DomainEvents');
  private publisher?: Redis;
  private subscriber?: Redis;
  /** Set while publishing fails, so an outage is reported once rather than for every event. */
  private failing = false;

  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly eventBus: EventBus,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.redisUrl) return;
    const channel = domainEventsChannel(this.config.redisPrefix);
    // Publishing fails fast while Redis is down: an event is never held back, nor is its publisher.
    const publisher = new Redis(this.config.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      connectionName: `${this.processId}:events-out`,
    });
    // The subscription waits for Redis however long it takes; ioredis renews it after every reconnect.
    const subscriber = new Redis(this.config.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      connectTimeout: CONNECT_TIMEOUT_MS,
      connectionName: `${this.processId}:events-in`,
    });
    logOutages(publisher, this.log, 'domain events out');
    logOutages(subscriber, this.log, 'domain events in');
    subscriber.on('message', (_channel: string, message: string) => this.receive(message));
    this.publisher = publisher;
    this.subscriber = subscriber;

    const local = this.eventBus.publisher;
    this.eventBus.publisher = {
      publish: (event, dispatcherContext, asyncContext) => {
        const result: unknown = local.publish(event, dispatcherContext, asyncContext);
        if (!isFromRemote(event)) this.send(channel, event);
        return result;
      },
    };

    const subscriberUp = subscriber.connect();
    const subscribed = subscriber.subscribe(channel);
    subscribed.catch(() => undefined);
    try {
      await Promise.all([publisher.connect(), subscriberUp]);
      await subscribed;
    } catch (error) {
      this.log.warn(
        `Redis is unreachable (${messageOf(error)}); domain events stay in this process until it is back`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const { publisher, subscriber } = this;
    this.publisher = undefined;
    this.subscriber = undefined;
    await Promise.all([quit(publisher), quit(subscriber)]);
  }

  private send(channel: string, event: IEvent): void {
    let wire: string | undefined;
    try {
      wire = encodeDomainEvent(event, this.processId);
    } catch (error) {
      this.log.warn(`${event.constructor.name} is invalid, not sent to other processes: ${messageOf(error)}`);
      return;
    }
    if (wire === undefined || !this.publisher) return;
    this.publisher.publish(channel, wire).then(
      () => {
        if (this.failing) this.log.log('domain events reach the other processes again');
        this.failing = false;
      },
      (error: unknown) => {
        if (!this.failing)
          this.log.warn(`domain events are not reaching the other processes: ${messageOf(error)}`);
        this.failing = true;
      },
    );
  }

  private receive(message: string): void {
    const decoded = decodeDomainEvent(message);
    if (!decoded.ok) {
      this.log.warn(`dropped a malformed domain event (${message.length} bytes): ${decoded.error}`);
      return;
    }
    if (decoded.origin === this.processId) return;
    Object.defineProperty(decoded.event, FROM_REMOTE, { value: true });
    this.eventBus.publish(decoded.event);
  }
}

/**
 * The CQRS buses for every module, and the bridge that carries domain events between processes when
 * REDIS_URL is set; without it, events stay in their process.
 */
@Global()
@Module({
  imports: [CqrsModule.forRoot()],
  providers: [DomainEventsBridge],
  exports: [DomainEventsBridge],
})
export class DomainEventsModule {}
