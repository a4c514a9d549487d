import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { CONFIG, type AppConfig, transientFailure } from '#platform';
import {
  IndexDocumentsHandler,
  TransientIndexingError,
} from '../../application/index-documents/index-documents.command-handler.js';
import { ReindexRunner } from '../../application/reindex-collection/reindex-runner.js';
import { DocumentRepository, type DocumentJob } from '../document.repository.js';
import { EmbeddingSetRepository } from '../embedding-set.repository.js';
import { IndexMaintenance } from './index-maintenance.js';
import {
  BATCH_SIZE,
  MAX_ATTEMPTS,
  RECONCILE_EVERY_MS,
  UNTOUCHED_FOR_MS,
  type IngestionQueue,
} from './ingestion-queue.js';
import { JobBatcher } from './job-batcher.js';

export const INGESTION_QUEUE_NAME = 'ingestion';
const INDEX_JOB = 'index-document';
const REINDEX_JOB = 'reindex-collection';
/** How long a job waits for others to share its batch. */
const BATCH_LINGER_MS = 20;
/** Quiet time after the last batch before the index maintenance runs. */
const IDLE_AFTER_MS = 500;

interface ReindexJob {
  setId: number;
}

/**
 * Ingestion on BullMQ (with REDIS_URL): one job per document version, id `<document>-v<version>`, so
 * adding a version twice queues it once. The queue only dispatches: the database holds every
 * document's state, and the index transaction checks the version under the row lock, so a job run
 * twice (stalled and re-delivered, a worker killed) still leaves one set of chunks. Redis holds nothing
 * that cannot be rebuilt: at start and every few seconds, documents left queued or processing without
 * progress are queued again (after a Redis restart with no persistence, say).
 */
@Injectable()
export class BullMqIngestionQueue implements IngestionQueue, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('IngestionQueue');
  private readonly queue: Queue;
  private readonly connections: Redis[] = [];
  private worker?: Worker;
  private reconciler?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  private readonly batcher: JobBatcher<DocumentJob>;

  constructor(
    private readonly repository: DocumentRepository,
    private readonly handler: IndexDocumentsHandler,
    private readonly sets: EmbeddingSetRepository,
    private readonly runner: ReindexRunner,
    private readonly maintenance: IndexMaintenance,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {
    // BullMQ hands jobs over one by one; they are indexed in batches, INGESTION_CONCURRENCY at once.
    this.batcher = new JobBatcher(
      async (jobs) => {
        this.maintenance.recordIndexed((await this.handler.execute(jobs)).length);
        this.scheduleMaintenance();
      },
      { concurrency: config.ingestion.concurrency, batchSize: BATCH_SIZE, lingerMs: BATCH_LINGER_MS },
    );
    const connection = this.connection();
    this.watchReconnects(connection);
    this.queue = new Queue(INGESTION_QUEUE_NAME, {
      connection,
      prefix: config.redisPrefix,
      defaultJobOptions: {
        attempts: MAX_ATTEMPTS,
        backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
        removeOnComplete: { count: 10_000 },
        removeOnFail: { count: 10_000 },
      },
    });
    this.queue.on('error', (error) => this.log.warn(`queue: ${error.message}`));
  }

  /** After Redis comes back (it may have lost every job), the database says what is still to do. */
  private watchReconnects(redis: Redis): void {
    let connectedBefore = false;
    redis.on('ready', () => {
      if (connectedBefore) {
        this.log.log('Redis is back: re-queuing pending documents');
        void this.reconcile(0);
      }
      connectedBefore = true;
    });
  }

  async enqueue(jobs: DocumentJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((job) => ({ name: INDEX_JOB, data: job, opts: { jobId: bullJobId(job) } })),
    );
  }

  /** One job per set: a re-index asked again after it failed replaces its finished job. */
  async reindex(setId: number): Promise<void> {
    const id = reindexJobId(setId);
    const existing = await this.queue.getJob(id);
    if (existing && ((await existing.isFailed()) || (await existing.isCompleted()))) await existing.remove();
    await this.queue.add(REINDEX_JOB, { setId } satisfies ReindexJob, { jobId: id });
  }

  private scheduleMaintenance(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.maintenance.runWhenIdle(), IDLE_AFTER_MS);
    this.idleTimer.unref();
  }

  async drained(): Promise<void> {
    while (!(await this.isEmpty())) await new Promise((r) => setTimeout(r, 100));
  }

  /** Whether no job waits, runs or is delayed, in any replica. */
  private async isEmpty(): Promise<boolean> {
    const counts = await this.queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    return Object.values(counts).every((n) => n === 0);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.worker = new Worker<DocumentJob | ReindexJob>(
      INGESTION_QUEUE_NAME,
      (job, token) => this.process(job, token),
      {
        connection: this.connection(),
        prefix: this.config.redisPrefix,
        // Enough jobs in hand to fill every batch the batcher may run at once.
        concurrency: this.config.ingestion.concurrency * BATCH_SIZE,
        // A killed worker's job is handed to another after a few seconds, not the default 30.
        lockDuration: 10_000,
        stalledInterval: 5_000,
      },
    );
    this.worker.on('error', (error) => this.log.warn(`worker: ${error.message}`));
    // Out of attempts on a passing failure: the document fails with the reason, and can be retried by the API.
    this.worker.on('failed', (job, error) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        const reason = `gave up after ${job.attemptsMade} attempts: ${error.message}`;
        const failed =
          job.name === REINDEX_JOB
            ? this.sets.markFailed((job.data as ReindexJob).setId, reason)
            : this.repository.markFailed(job.data as DocumentJob, reason);
        void failed.catch((e: Error) => this.log.warn(`could not mark ${job.id} failed: ${e.message}`));
      }
    });
    await this.reconcile(0);
    this.reconciler = setInterval(() => void this.reconcile(UNTOUCHED_FOR_MS), RECONCILE_EVERY_MS);
    this.reconciler.unref();
  }

  /** Stops taking jobs and lets the running ones finish (BullMQ waits for them). */
  async onApplicationShutdown(): Promise<void> {
    if (this.reconciler) clearInterval(this.reconciler);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await this.worker?.close();
    await this.queue.close();
    for (const c of this.connections) c.disconnect();
  }

  /**
   * A provider that asked us to wait (429 with Retry-After) delays the job that long, without spending
   * one of its attempts. Other passing failures retry the job with exponential backoff and jitter.
   */
  private async process(job: Job<DocumentJob | ReindexJob>, token?: string): Promise<void> {
    try {
      if (job.name === REINDEX_JOB) await this.runReindex((job.data as ReindexJob).setId);
      else await this.batcher.submit(job.data as DocumentJob);
    } catch (error) {
      if (error instanceof TransientIndexingError && error.retryAfterMs !== undefined) {
        await job.moveToDelayed(Date.now() + error.retryAfterMs, token);
        throw new DelayedError();
      }
      throw error;
    }
  }

  /** A re-index that cannot go on for a lasting reason is recorded on its set at once, not retried. */
  private async runReindex(setId: number): Promise<void> {
    try {
      if (await this.runner.run(setId)) this.maintenance.afterSwitch();
    } catch (error) {
      const transient = transientFailure(error);
      if (!transient) {
        await this.sets.markFailed(setId, (error as Error).message);
        return;
      }
      throw new TransientIndexingError((error as Error).message, transient.retryAfterMs);
    }
  }

  /**
   * At start, every pending document is queued again (job ids make it idempotent). Later, only once the
   * queue is empty: a document pending while jobs still wait is not lost but behind them, and only an
   * empty queue proves it lost (Redis restarted without its data, say). In a backlog of 500k documents
   * the check itself took 3 s every 10 s and queued 100k jobs that were already there.
   */
  private async reconcile(untouchedForMs: number): Promise<void> {
    try {
      if (untouchedForMs === 0 || (await this.isEmpty())) {
        const pending = await this.repository.pendingJobs(100_000, untouchedForMs);
        if (pending.length > 0) {
          await this.enqueue(pending);
          if (untouchedForMs === 0)
            this.log.log(`resuming ${pending.length} document(s) left queued or processing`);
        }
      }
      // A re-index's job id is stable, so one still queued or running is not added twice.
      for (const set of await this.sets.building()) {
        await this.queue.add(REINDEX_JOB, { setId: set.id } satisfies ReindexJob, {
          jobId: reindexJobId(set.id),
        });
      }
      // What a process that stopped before its maintenance left: an index to build, a replaced set.
      await this.maintenance.whenIdle();
    } catch (error) {
      this.log.warn(`could not re-queue pending documents: ${(error as Error).message}`);
    }
  }

  private connection(): Redis {
    // BullMQ's blocking commands need unlimited retries per request; reconnects are ioredis's job.
    const redis = new Redis(this.config.redisUrl!, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    this.connections.push(redis);
    return redis;
  }
}

function reindexJobId(setId: number): string {
  return `reindex-${setId}`;
}

export function bullJobId(job: DocumentJob): string {
  return `${job.documentId}-v${job.version}`;
}
