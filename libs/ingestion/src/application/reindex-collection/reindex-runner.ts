import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { CollectionReindexed } from '#contracts';
import { assertVectorSize, EMBEDDERS, type EmbedderRegistry } from '#embeddings';
import { CONFIG, type AppConfig } from '#platform';
import { toVectorLiteral } from '#search-index';
import { embeddingInput } from '../../domain/embedding-input.js';
import { EmbeddingSetRepository } from '../../infrastructure/embedding-set.repository.js';

/**
 * Fills a re-index's embedding set and switches the collection to it. It only ever adds the vectors that
 * are missing, so a run interrupted (a crash, a rate limit) resumes where it stopped, and chunks that
 * already have a vector of the new model (ingested during the re-index) are not embedded again. Before
 * switching, the set's HNSW index is built in one pass, so search is as fast right after the switch.
 * Errors propagate: the queue retries passing ones with backoff and records the others on the set.
 */
@Injectable()
export class ReindexRunner {
  private readonly log = new Logger('Reindex');

  constructor(
    private readonly sets: EmbeddingSetRepository,
    @Inject(EMBEDDERS) private readonly embedders: EmbedderRegistry,
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly events: EventBus,
  ) {}

  /** Returns true once the collection uses the set, false when the set was superseded or given up. */
  async run(setId: number): Promise<boolean> {
    for (;;) {
      const set = await this.sets.find(setId);
      if (!set || set.state !== 'building' || set.error) return false;
      const embedder = this.embedders.get(set.model, set.dimensions);
      if (!embedder) throw new Error(`this server cannot make ${set.model} vectors`);
      let after = '0';
      let embedded = 0;
      for (;;) {
        const chunks = await this.sets.missingChunks(set, after, this.config.embeddings.batchSize);
        if (chunks.length === 0) break;
        const vectors = await embedder.embedDocuments(chunks.map((c) => embeddingInput(c.title, c.text)));
        assertVectorSize(vectors, set.dimensions, set.model);
        await this.sets.addVectors(
          set.id,
          chunks.map((c) => c.id),
          vectors.map((v) => toVectorLiteral(v)),
        );
        embedded += chunks.length;
        after = chunks[chunks.length - 1].id;
        if ((await this.sets.find(set.id))?.state !== 'building') return false;
      }
      const vectors = await this.sets.vectorCount(set.id);
      if (!set.indexed && vectors >= this.config.ingestion.vectorIndexMinChunks)
        await this.sets.buildIndex(set);
      const collection = await this.sets.switchTo(set);
      if (collection) {
        this.events.publish(new CollectionReindexed(collection, set.model));
        this.log.log(`set ${set.id} (${set.model}) is now active: ${embedded} chunk(s) embedded in this run`);
        return true;
      }
      // Chunks arrived after the walk, or the set was superseded: look again.
    }
  }
}
