import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LexicalIndex } from '#search-index';

/**
 * Fresh lexical blocks written since the last merge, past which a merge starts in the middle of a load:
 * each batch adds one small block per distinct term, so a query of a collection being loaded reads more
 * headers the longer merging waits, and each block costs a row's overhead until it is merged.
 */
const MERGE_AFTER_FRESH_BLOCKS = 50_000;

/**
 * Keeps the lexical index compact: merges the fresh blocks indexing writes into full blocks (in the
 * background during a load, and whenever ingestion goes idle), and moves collections still in the old
 * postings layout to blocks. Any replica may run it: a merge takes its collection's advisory lock, and a
 * move its collection's row lock, so two never do the same work.
 */
@Injectable()
export class LexicalMaintenance {
  private readonly log = new Logger('LexicalMaintenance');
  private fresh = 0;
  /** Rows merges replaced since the last VACUUM. */
  private dead = 0;
  private merging?: Promise<void>;
  private stopping = false;

  constructor(
    private readonly db: DataSource,
    private readonly lexical: LexicalIndex,
  ) {}

  /** Counts the fresh blocks a batch wrote, and starts a merge in the background when enough have. */
  recordFresh(blocks: number): void {
    this.fresh += blocks;
    if (this.fresh >= MERGE_AFTER_FRESH_BLOCKS && !this.merging) {
      this.fresh = 0;
      this.merging = this.mergeAll()
        .catch((error: Error) => {
          if (!this.stopping) this.log.warn(`could not merge lexical blocks: ${error.message}`);
        })
        .finally(() => (this.merging = undefined));
    }
  }

  stop(): void {
    this.stopping = true;
  }

  /**
   * Merges every collection's fresh blocks (waiting for a merge already running first), then vacuums the
   * blocks once merges have replaced enough rows.
   */
  async mergeAll(): Promise<void> {
    await this.merging;
    for (const collectionId of (await this.lexical.freshBlocks(this.db)).keys()) {
      if (this.stopping) return;
      this.dead += await this.lexical.merge(this.db, collectionId, () => this.stopping);
    }
    if (!this.stopping && (await this.lexical.vacuumIfBloated(this.db, this.dead))) this.dead = 0;
  }

  /** Moves every collection still in the postings layout to blocks, one at a time. */
  async moveLegacyCollections(): Promise<void> {
    for (const { id, name } of await this.lexical.unmoved(this.db)) {
      if (this.stopping) return;
      const started = performance.now();
      const moved = await this.lexical.moveToBlocks(this.db, id);
      if (moved !== null)
        this.log.log(
          `moved collection "${name}" to the block lexical index: ${moved} postings in ${Math.round(performance.now() - started)} ms`,
        );
    }
  }
}
