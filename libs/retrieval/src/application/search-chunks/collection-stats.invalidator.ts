import { EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import { CollectionDeleted } from '#contracts';
import { ChunkSearchRepository } from '../../infrastructure/chunk-search.repository.js';

/**
 * A deleted collection is forgotten at once, in whichever process it was deleted: its cached statistics
 * would otherwise answer an empty search (rather than 404) for up to a second, and a collection made
 * again under the same name would be searched under the old one's id.
 */
@EventsHandler(CollectionDeleted)
export class CollectionStatsInvalidator implements IEventHandler<CollectionDeleted> {
  constructor(private readonly repository: ChunkSearchRepository) {}

  handle(event: CollectionDeleted): void {
    this.repository.forget(event.collection);
  }
}
