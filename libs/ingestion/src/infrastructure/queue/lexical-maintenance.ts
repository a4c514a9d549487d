import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DATABASE, type Database } from '#platform';
import { LexicalIndex } from '#search-index';

/**
 * Segments written since the last merge, past which a merge starts in the middle of a load (each indexing
 * batch writes one). A query reads every segment's heads for its terms, so the more wait, the slower a
 * search of a collection being loaded; but each merge rewrites the last block of every term it touches,
 * and what it replaces stays in the table as free space: merging every 32 segments left a 10k-chunk load's
 * blocks at 13 MiB for 7.5 MiB of live ones. At 128, such a load is merged once, when it ends.
 */
const MERGE_AFTER_SEGMENTS = 128;

/**
 * Postings a merge round takes on PGlite, a tenth of PostgreSQL's (MERGE_ROUND_POSTINGS): the single
 * binary's memory is what a round's segments cost at their peak, read, decoded, re-encoded and written
 * back through the worker thread (a SciFact load's one round of 1M postings took its RSS from 480 to
 * 620 MiB, which neither V8 nor the allocator gave back).
 */
const PGLITE_ROUND_POSTINGS = 100_000;

/**
 * Keeps the lexical index compact: merges the segments indexing writes into full blocks (in the
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

  private readonly roundPostings: number | undefined;

  constructor(
    private readonly db: DataSource,
    private readonly lexical: LexicalIndex,
    @Inject(DATABASE) database: Database,
  ) {
    this.roundPostings = database.kind === 'pglite' ? PGLITE_ROUND_POSTINGS : undefined;
  }

  /** Counts the segments batches wrote, and starts a merge in the background when enough have. */
  recordSegments(segments: number): void {
    this.fresh += segments;
    if (this.fresh >= MERGE_AFTER_SEGMENTS && !this.merging) {
      this.fresh = 0;
      this.merging = this.mergeAll()
        .catch((error: Error) => {
          if (!this.stopping) this.log.warn(`could not merge lexical blocks: ${error.message}`);
        })
        .finally(() => (this.merging = undefined));
    }
  }

  /** Waits for a merge started in the middle of a load, if one is running. */
  async settled(): Promise<void> {
    await this.merging;
  }

  stop(): void {
    this.stopping = true;
  }

  /**
   * Merges every collection's segments (waiting for a merge already running first), vacuuming the blocks
   * whenever the rows merges replaced pass a threshold (LexicalIndex.vacuumIfBloated): during a load a
   * merge goes on round after round while new segments keep coming, and the rows a round replaces become
   * space the next can reuse only once vacuumed. Checked only at the end, a 100k-chunk load's blocks
   * ended at 103-192 MiB of heap for about 50 of live rows.
   */
  async mergeAll(): Promise<void> {
    await this.merging;
    const collections = [...(await this.lexical.segments(this.db)).keys()];
    for (const collectionId of collections) {
      if (this.stopping) return;
      await this.lexical.merge(this.db, collectionId, {
        stopping: () => this.stopping,
        roundPostings: this.roundPostings,
        afterRound: async (replaced) => {
          this.dead += replaced;
          if (await this.lexical.vacuumIfBloated(this.db, this.dead)) this.dead = 0;
        },
      });
    }
    if (this.stopping) return;
    // Merged segments leave their bytes in the segments' TOAST table until a VACUUM, and with every
    // segment merged it can give all of it back: a 10k load kept 12 MiB there, as much again as its blocks.
    if (collections.length > 0) await this.lexical.vacuumSegments(this.db);
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
