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
    // The HNSW indexes first, on their own, then the lexical segments' merge and the index tables' VACUUM.
    // Beside the merge (a thread of this process and a backend), a build that wants both cores for its
    // parallel workers took 1.2-1.65x pgvector's bare CREATE INDEX at 10k; merged before it, the merge (2.5 s
    // at 10k) was added to the time until the documents could be searched by vector. The segments are
    // searchable meanwhile, as during a load (a search finds its terms' blocks in each one's dictionary: see
    // SegmentDictionaries). A VACUUM during a build (CREATE INDEX CONCURRENTLY holds back
    // the horizon) could neither remove the rows a merge replaced nor mark the blocks' pages all-visible,
    // which a search needs to read its headers from the primary key's index alone.
    await this.lexical.settled();
    // Another replica building an index merges and vacuums after its build: this one leaves them to it.
    if (await this.buildPendingIndexes()) {
      await this.lexical.mergeAll();
      if (vacuum) await this.chunks.vacuumIndex();
    }
    await this.jobStates.compactStatusCounts();
  }

  /** Builds the HNSW indexes load left pending; false if another process was building one of them. */
  private async buildPendingIndexes(): Promise<boolean> {
    let alone = true;
    for (const set of await this.sets.pendingIndexes(this.config.ingestion.vectorIndexMinChunks)) {
      const seconds = await this.sets.buildIndex(set);
      if (seconds === null) {
        alone = false;
        continue;
      }
      this.log.log(`built the HNSW index of embedding set ${set.id} in ${Math.round(seconds * 1000)} ms`);
    }
    return alone;
  }
}
