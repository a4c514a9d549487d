import { EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import {
  CollectionDeleted,
  CollectionReindexed,
  DocumentDeleted,
  DocumentIngested,
  type DomainEvent,
} from '#contracts';
import { AnswerCache } from './answer-cache.port.js';

/** Keeps the cache in step with the collections, whichever process changed them. */
@EventsHandler(DocumentIngested, DocumentDeleted, CollectionReindexed, CollectionDeleted)
export class AnswerCacheInvalidator implements IEventHandler<DomainEvent> {
  constructor(private readonly cache: AnswerCache) {}

  handle(event: DomainEvent): Promise<void> {
    return this.cache.invalidate(event.collection);
  }
}
