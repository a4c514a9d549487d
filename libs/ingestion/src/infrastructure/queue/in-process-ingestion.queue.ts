import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { BackgroundWork, CONFIG, type AppConfig } from '#platform';
import { transientFailure } from '#embeddings';
import {
  IndexDocumentsUseCase,
  TransientIndexingError,
} from '../../application/index-documents/index-documents.use-case.js';
import type { IngestionQueue } from '../../application/ingestion-queue.port.js';
import { ReindexRunner } from '../../application/reindex-collection/reindex-runner.js';
import { jobId, type DocumentJob } from '../../domain/document-job.js';
import { JobStateRepository } from '../job-state.repository.js';
import { EmbeddingSetRepository } from '../embedding-set.repository.js';
import { InProcessQueue } from './in-process.queue.js';
import { IndexMaintenance } from './index-maintenance.js';

/** Document versions indexed together: one embedding call and one transaction per batch. */
export const BATCH_SIZE = 64;
export const MAX_ATTEMPTS = 8;
const BASE_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

/** Exponential backoff with jitter before attempt `attempt + 1`. */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
}

/**
 * The queue of the embedded deployment. At start it picks up the versions a previous process left
 * queued or processing, so a crash loses no document.
 */
@Injectable()
export class InProcessIngestionQueue
  implements IngestionQueue, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly log = new Logger('IngestionQueue');
  private readonly queue: InProcessQueue<DocumentJob>;
  private readonly attempts = new Map<string, number>();
  private scheduled = 0;
  private reconciler?: NodeJS.Timeout;
  private readonly config: AppConfig;
  /** Re-indexes run one after the other, beside document indexing. */
  private reindexes: Promise<void> = Promise.resolve();

  constructor(
    private readonly repository: JobStateRepository,
    handler: IndexDocumentsUseCase,
    private readonly sets: EmbeddingSetRepository,
    private readonly runner: ReindexRunner,
    private readonly maintenance: IndexMaintenance,
    @Inject(CONFIG) config: AppConfig,
  ) {
    this.config = config;
    this.queue = new InProcessQueue(
      async (batch) => {
        try {
          await maintenance.beforeIndexing();
          maintenance.recordIndexed((await handler.execute(batch)).length);
        } catch (error) {
          // A document that cannot be indexed fails inside the handler; what escapes it is the
          // infrastructure (the database gone, say), so the batch is tried again, not dropped.
          await this.retryLater(
            batch,
            error instanceof TransientIndexingError
              ? error
              : new TransientIndexingError((error as Error).message ?? String(error)),
          );
        }
      },
      jobId,
      {
        concurrency: config.ingestion.concurrency,
        batchSize: BATCH_SIZE,
        onIdle: () => maintenance.whenIdle(),
      },
    );
  }

  async enqueue(jobs: DocumentJob[]): Promise<void> {
    this.queue.add(jobs);
  }

  async reindex(setId: number): Promise<void> {
    this.scheduled++;
    this.reindexes = this.reindexes.then(() =>
      BackgroundWork.run(async () => {
        try {
          await this.runReindex(setId);
        } finally {
          this.scheduled--;
        }
      }),
    );
  }

  /** A passing failure waits and resumes (the run only adds missing vectors); any other is recorded. */
  private async runReindex(setId: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (await this.runner.run(setId)) this.maintenance.afterSwitch();
        return;
      } catch (error) {
        const transient = transientFailure(error);
        if (!transient || attempt >= MAX_ATTEMPTS) {
          await this.sets.markFailed(setId, (error as Error).message);
          return;
        }
        await new Promise((r) => setTimeout(r, transient.retryAfterMs ?? backoffMs(attempt)));
      }
    }
  }

  async drained(): Promise<void> {
    for (;;) {
      await this.queue.idle();
      if (this.scheduled === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * A passing failure (rate limit, provider down) puts the batch back after the provider's Retry-After,
   * or an exponential backoff with jitter; after MAX_ATTEMPTS the documents fail with the reason.
   */
  private async retryLater(batch: DocumentJob[], error: TransientIndexingError): Promise<void> {
    const retry: DocumentJob[] = [];
    for (const job of batch) {
      const attempt = (this.attempts.get(jobId(job)) ?? 0) + 1;
      if (attempt >= MAX_ATTEMPTS) {
        this.attempts.delete(jobId(job));
        // If even that cannot be written, the document stays pending and the reconciler takes it up.
        await this.repository
          .markFailed(job, `gave up after ${attempt} attempts: ${error.message}`)
          .catch((e: Error) => this.log.warn(`could not mark ${jobId(job)} failed: ${e.message}`));
      } else {
        this.attempts.set(jobId(job), attempt);
        retry.push(job);
      }
    }
    if (retry.length === 0) return;
    const attempt = Math.max(...retry.map((j) => this.attempts.get(jobId(j))!));
    const delay = error.retryAfterMs ?? backoffMs(attempt);
    this.log.warn(`${retry.length} document(s) will be retried in ${Math.round(delay)} ms: ${error.message}`);
    this.scheduled++;
    setTimeout(() => {
      this.scheduled--;
      this.queue.add(retry);
    }, delay).unref();
  }

  async onApplicationBootstrap(): Promise<void> {
    const pending = await this.repository.pendingJobs(1_000_000);
    if (pending.length > 0) {
      this.log.log(`resuming ${pending.length} document(s) left queued or processing`);
      this.queue.add(pending);
    }
    for (const set of await this.sets.building()) await this.reindex(set.id);
    this.maintenance.runWhenIdle();
    this.reconciler = setInterval(() => void this.reconcile(), this.config.ingestion.reconcileEveryMs);
    this.reconciler.unref();
  }

  /**
   * Documents pending but untouched for a while (their batch dropped after its retries, say) are queued
   * again, once the queue has nothing left: until then they may simply be waiting their turn.
   */
  private async reconcile(): Promise<void> {
    if (this.queue.size > 0 || this.scheduled > 0) return;
    try {
      const pending = await this.repository.pendingJobs(100_000, this.config.ingestion.requeueAfterMs);
      if (pending.length > 0) this.queue.add(pending);
    } catch (error) {
      this.log.warn(`could not re-queue pending documents: ${(error as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.reconciler) clearInterval(this.reconciler);
    await this.queue.stop();
  }
}
