import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type AppConfig } from '#platform';
import { ChunkRepository } from '../chunk.repository.js';
import { JobStateRepository } from '../job-state.repository.js';
import { EmbeddingSetRepository } from '../embedding-set.repository.js';
import { LexicalMaintenance } from './lexical-maintenance.js';

/** Documents indexed before they and the index tables are vacuumed and analysed, once ingestion is idle. */
const VACUUM_AFTER = 500;
/** Documents this process indexes between two looks for a large load into an indexed collection. */
const LOAD_CHECK_EVERY = 500;
/** Documents this process indexes before it first analyses the tables in the middle of a load. */
const FIRST_ANALYZE_AFTER = 1_000;
/** How long a replaced embedding set is kept, for searches that read its id just before the switch. */
export const RETIRED_SET_GRACE_MS = 5_000;

/**
 * What the index needs once a burst of ingestion is over, run by whichever queue is in use when it
 * has nothing left to do: HNSW indexes of sets whose bulk load finished are built in one pass, the
 * statistics and visibility map are refreshed (so BM25 queries are index-only scans at once instead of
 * after autovacuum gets round to it: a SciFact query under EXPLAIN ANALYZE went from 178 ms to 31 ms),
 * the documents' status counts are folded into one row per status, and embedding sets replaced by a
 * re-index are dropped.
 */
@Injectable()
export class IndexMaintenance {
  private readonly log = new Logger('IndexMaintenance');
  private indexedSinceVacuum = 0;
  private indexed = 0;
  private nextAnalyze = FIRST_ANALYZE_AFTER;
  /** HNSW indexes this process has dropped for a large load (each built again after it). */
  suspendedIndexes = 0;
  /** When (in documents this process has indexed) it next looks for a large load into an indexed set. */
  private nextLoadCheck = 0;
  private analyzing = false;
  private stopping = false;

  constructor(
    private readonly chunks: ChunkRepository,
    private readonly jobStates: JobStateRepository,
    private readonly sets: EmbeddingSetRepository,
    private readonly lexical: LexicalMaintenance,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  recordIndexed(documents: number): void {
    this.lexical.recordSegments(this.chunks.takeSegments());
    this.indexedSinceVacuum += documents;
    this.indexed += documents;
    if (this.indexed >= this.nextAnalyze && !this.analyzing) this.analyzeMidLoad();
  }

  /**
   * Before a batch is indexed: every LOAD_CHECK_EVERY documents (and at a load's first batch), a large
   * load into a collection whose HNSW index exists drops the index first (see suspendIndexesUnderLargeLoad).
   */
  async beforeIndexing(): Promise<void> {
    if (this.indexed < this.nextLoadCheck) return;
    this.nextLoadCheck = this.indexed + LOAD_CHECK_EVERY;
    await this.suspendIndexesUnderLargeLoad().catch((error: Error) => {
      if (!this.stopping) this.log.warn(`could not suspend an HNSW index for a load: ${error.message}`);
    });
  }

  /**
   * A large load into a collection whose HNSW index exists would grow the graph row by row, several times
   * slower than building it in one pass: the index is dropped for the load, and built again by
   * `whenIdle` once the load is over (VECTOR_INDEX_SUSPEND_FOR_DOCUMENTS).
   */
  private async suspendIndexesUnderLargeLoad(): Promise<void> {
    const threshold = this.config.ingestion.vectorIndexSuspendForDocuments;
    if (threshold === 0) return;
    for (const set of await this.sets.indexedUnderLargeLoad(threshold)) {
      await this.sets.suspendIndex(set);
      this.suspendedIndexes++;
      this.log.log(
        `dropped the HNSW index of embedding set ${set.id} for a large load; it is built again after it`,
      );
    }
  }

  /**
   * The planner's statistics kept up with a bulk load, which is never idle until it ends: each time the
   * documents this process has indexed double, the tables are analysed in the background (a sample, a
   * fraction of a second). Without it, nothing had analysed a 1M-chunk load (autovacuum may be off, and
   * it lags anyway), so the look-ups of a batch's chunks by document were planned as scans of the whole
   * table, and ingestion slowed from 480 to 200 chunks/s by 600k chunks.
   */
  private analyzeMidLoad(): void {
    this.analyzing = true;
    this.nextAnalyze = this.indexed * 2;
    this.chunks
      .analyzeIndex()
      .catch((error: Error) => {
        if (!this.stopping) this.log.warn(`could not analyse the index tables: ${error.message}`);
      })
      .finally(() => (this.analyzing = false));
  }

  /** After a re-index switched: the replaced set is dropped once its grace is over. */
  afterSwitch(): void {
    setTimeout(() => this.runWhenIdle(), RETIRED_SET_GRACE_MS + 500).unref();
  }

  /**
   * `whenIdle` in the background. A failure is logged and left for the next idle moment to retry, since
   * every step picks up where it stopped (an index build cut off leaves an invalid index, dropped and
   * built again). One cut off by the process stopping is expected, and not worth a warning.
   */
  runWhenIdle(): void {
    this.whenIdle().catch((error: Error) => {
      if (this.stopping) this.log.debug(`index maintenance stopped with the process: ${error.message}`);
      else this.log.warn(`index maintenance failed: ${error.message}`);
    });
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
    this.lexical.stop();
  }

  async whenIdle(): Promise<void> {
    // The next load is looked at from its first batch.
    this.nextLoadCheck = this.indexed;
    await this.sets.dropRetired(RETIRED_SET_GRACE_MS);
    // A database from before the block index: its collections move first, load or not (see LexicalIndex).
    await this.lexical.moveLegacyCollections();
    // A pause in the middle of a bulk load is not the end of it: vacuuming now would be wasted work.
    if (await this.jobStates.hasPendingDocuments()) return;
    const vacuum = this.indexedSinceVacuum >= VACUUM_AFTER;
    if (vacuum) this.indexedSinceVacuum = 0;
    // The documents first, in seconds: the HNSW build below can take minutes, and the collection view
    // reads them meanwhile.
    if (vacuum) await this.jobStates.vacuum();
    // The lexical segments are merged while the HNSW indexes build, on other tables (each mostly on a core
    // of its own): until they are merged every search reads each one's heads for its terms (26 were left
    // after a 100k-chunk load), and a build can take minutes; but merged before it, a 10k load's merge
    // (2.5 s) was added to the time until its documents could be searched.
    await Promise.all([this.lexical.mergeAll(), this.buildPendingIndexes()]);
    // The index tables' VACUUM after the builds: a build (CREATE INDEX CONCURRENTLY) holds back the
    // horizon, so during it the rows a merge replaced could not be removed (a 10k load's merged segments
    // kept 12 MiB), nor the blocks' pages marked all-visible, which a search needs to read its headers from
    // the primary key's index alone.
    if (vacuum) await this.chunks.vacuumIndex();
    await this.jobStates.compactStatusCounts();
  }

  private async buildPendingIndexes(): Promise<void> {
    for (const set of await this.sets.pendingIndexes(this.config.ingestion.vectorIndexMinChunks)) {
      const seconds = await this.sets.buildIndex(set);
      if (seconds === null) continue;
      this.log.log(`built the HNSW index of embedding set ${set.id} in ${Math.round(seconds * 1000)} ms`);
    }
  }
}
