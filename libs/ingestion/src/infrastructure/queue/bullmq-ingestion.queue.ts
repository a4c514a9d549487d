import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { AppError } from '#contracts';
import { CONFIG, type AppConfig } from '#platform';
import { type Metrics, SpanKind, Tracing } from '#observability';
import { transientFailure } from '#embeddings';
import {
  IndexDocumentsUseCase,
  TransientIndexingError,
} from '../../application/index-documents/index-documents.use-case.js';
import { ReindexRunner } from '../../application/reindex-collection/reindex-runner.js';
import {
  DocumentJobsRepository,
  type PendingCursor,
  type PendingDocument,
} from '../document-jobs.repository.js';
import type { DocumentJob } from '../../domain/document-job.js';
import { JobStateRepository } from '../job-state.repository.js';
import { EmbeddingSetRepository } from '../embedding-set.repository.js';
import { IndexMaintenance } from './index-maintenance.js';
import type { IngestionQueue } from '../../application/ingestion-queue.port.js';
import { BATCH_SIZE, MAX_ATTEMPTS } from './in-process-ingestion.queue.js';
import { JobBatcher } from './job-batcher.js';
import { currentJobTrace, type JobTrace, runJob, watchQueue } from './job-trace.js';
import { REDIS_PREFIX_IN_USE } from '../../domain/ingestion.errors.js';

export const INGESTION_QUEUE_NAME = 'ingestion';
const INDEX_JOB = 'index-document';
const REINDEX_JOB = 'reindex-collection';
/** How long a job waits for others to share its batch. */
const BATCH_LINGER_MS = 20;
/** Quiet time after the last batch before the index maintenance runs. */
const IDLE_AFTER_MS = 500;

/** Pending documents checked against the queue per page, and pages per reconciliation round. */
const RECONCILE_PAGE = 2_000;
const RECONCILE_PAGES_PER_ROUND = 10;
/** The Redis key, under REDIS_PREFIX, naming the database whose queue the prefix holds. */
const DATABASE_MARKER = 'ragnest:database';

interface ReindexJob {
  setId: number;
}

/** What an index job carries: the version, its queue token, and the database it belongs to. */
interface IndexJob extends DocumentJob {
  database?: string;
  /** The request that queued it (absent on jobs the reconciler adds again). */
  trace?: JobTrace;
}

/** Why the reconciler re-queues a pending document: what it found of the document's job in Redis. */
type JobVerdict = 'ok' | 'missing' | 'completed' | 'failed' | 'stuck';

/**
 * Ingestion on BullMQ (with REDIS_URL): one job per document version and queue token, id
 * `<database>.<document>.v<version>.<token>` (bullJobId). The queue only dispatches: the database holds
 * every document's state, and the index transaction checks the version under the row lock, so a job run
 * twice (stalled and re-delivered, a worker killed) still leaves one set of chunks.
 *
 * Job ids never repeat: the database part differs between databases, and the token is drawn anew each
 * time a version is queued, so a job Redis already holds (completed, from another database or from
 * before a restore) cannot swallow a new one, as BullMQ ignores an add for an id it holds (issue 16).
 * A prefix holds one database's queue: the first process records its database's id under it, and one
 * of another database refuses to start.
 *
 * Redis holds nothing that cannot be rebuilt. Every INGESTION_RECONCILE_EVERY_MS the reconciler pages
 * through documents pending and untouched for INGESTION_REQUEUE_AFTER_MS and asks Redis, pipelined,
 * what became of each one's job: a missing job is added again; a completed or failed one, or one held
 * active past INGESTION_STALL_AFTER_MS, is replaced by a job under a fresh token (the old one, should
 * it run, finds its token stale and does nothing). Each repair is logged with its reason.
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
  /** This database's id, known once the prefix is claimed at start. */
  private database?: string;
  /** Where the reconciler's next page starts; undefined starts a new pass over the pending documents. */
  private cursor?: PendingCursor;
  private reconciling = false;
  private readonly redis: Redis;

  constructor(
    private readonly repository: JobStateRepository,
    private readonly jobs: DocumentJobsRepository,
    private readonly handler: IndexDocumentsUseCase,
    private readonly sets: EmbeddingSetRepository,
    private readonly runner: ReindexRunner,
    private readonly maintenance: IndexMaintenance,
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly metrics?: Metrics,
  ) {
    // BullMQ hands jobs over one by one; they are indexed in batches, INGESTION_CONCURRENCY at once.
    this.batcher = new JobBatcher(
      async (jobs) => {
        await this.maintenance.beforeIndexing();
        this.maintenance.recordIndexed((await this.handler.execute(jobs)).length);
        this.scheduleMaintenance();
      },
      { concurrency: config.ingestion.concurrency, batchSize: BATCH_SIZE, lingerMs: BATCH_LINGER_MS },
    );
    const connection = this.connection();
    this.redis = connection;
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
    this.unwatch = metrics ? watchQueue(metrics, INGESTION_QUEUE_NAME, this.queue) : undefined;
  }

  private readonly unwatch?: () => void;

  /** After Redis comes back (it may have lost every job), the database says what is still to do. */
  private watchReconnects(redis: Redis): void {
    let connectedBefore = false;
    redis.on('ready', () => {
      if (connectedBefore) {
        this.log.log('Redis is back: checking the jobs of pending documents');
        this.cursor = undefined;
        void this.reconcile(0);
      }
      connectedBefore = true;
    });
  }

  async enqueue(jobs: DocumentJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const database = await this.databaseId();
    await Tracing.inSpan(
      `${INGESTION_QUEUE_NAME} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'bullmq', 'messaging.batch.message_count': jobs.length },
      },
      async () => {
        const trace = currentJobTrace();
        await this.queue.addBulk(
          jobs.map((job) => ({
            name: INDEX_JOB,
            data: { ...job, database, ...(trace && { trace }) } satisfies IndexJob,
            opts: { jobId: bullJobId(database, job) },
          })),
        );
      },
    );
  }

  private async databaseId(): Promise<string> {
    this.database ??= await this.jobs.instanceId();
    return this.database;
  }

  /**
   * Records this database as the one whose queue the prefix holds, or refuses to go on if the prefix
   * holds another's: two databases on one queue would each take the other's jobs. The same database
   * (a restart, another replica, a restore from backup) finds its own id and goes on.
   */
  private async claimPrefix(): Promise<void> {
    const database = await this.databaseId();
    const key = `${this.config.redisPrefix}:${DATABASE_MARKER}`;
    await this.redis.set(key, database, 'NX');
    const holder = await this.redis.get(key);
    if (holder === null || holder === database) return;
    throw new AppError(
      REDIS_PREFIX_IN_USE,
      `REDIS_PREFIX "${this.config.redisPrefix}" holds the ingestion queue of another ragnest database ` +
        `(${holder}; this one is ${database}), and two databases must not share one queue. ` +
        `Set REDIS_PREFIX to a prefix of this deployment's own, or, if that database is gone for good ` +
        `(reset, replaced), delete the Redis key "${key}" (or flush that Redis) to hand the prefix over.`,
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
    await this.claimPrefix();
    this.worker = new Worker<IndexJob | ReindexJob>(
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
    const { reconcileEveryMs, requeueAfterMs } = this.config.ingestion;
    this.reconciler = setInterval(() => void this.reconcile(requeueAfterMs), reconcileEveryMs);
    this.reconciler.unref();
  }

  /** Stops taking jobs and lets the running ones finish (BullMQ waits for them). */
  async onApplicationShutdown(): Promise<void> {
    this.unwatch?.();
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
  private async process(job: Job<IndexJob | ReindexJob>, token?: string): Promise<void> {
    try {
      if (job.name === REINDEX_JOB) await this.runReindex((job.data as ReindexJob).setId);
      else await this.index(job as Job<IndexJob>);
    } catch (error) {
      if (error instanceof TransientIndexingError && error.retryAfterMs !== undefined) {
        await job.moveToDelayed(Date.now() + error.retryAfterMs, token);
        throw new DelayedError();
      }
      throw error;
    }
  }

  /** A job of another database (left in a prefix handed over) is not this database's to run. */
  private async index(job: Job<IndexJob>): Promise<void> {
    const { database, trace, ...version } = job.data;
    await runJob(INGESTION_QUEUE_NAME, trace, async () => {
      if (database !== undefined && database !== (await this.databaseId())) {
        this.log.warn(`skipping job ${job.id}: it belongs to database ${database}`);
        return;
      }
      await this.batcher.submit(version);
    });
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
   * One round of reconciliation: pending documents untouched for `untouchedForMs` are checked against
   * their jobs, RECONCILE_PAGE at a time and at most RECONCILE_PAGES_PER_ROUND pages, the next round
   * going on where this one stopped. A backlog of 500k documents is thus read over several rounds,
   * never all at once (reading and re-queuing it whole took 3 s every 10 s). A round at start has no
   * age limit, so what a stopped process left is resumed at once.
   */
  private async reconcile(untouchedForMs: number): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    try {
      await this.claimPrefix().catch((error: Error) => this.log.error(error.message));
      for (let page = 0; page < RECONCILE_PAGES_PER_ROUND; page++) {
        const { documents, next } = await this.jobs.pendingPage(this.cursor, untouchedForMs, RECONCILE_PAGE);
        this.cursor = next;
        await this.repair(documents);
        if (!next) break;
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
      this.log.warn(`could not reconcile pending documents with the queue: ${(error as Error).message}`);
    } finally {
      this.reconciling = false;
    }
  }

  /** Re-queues the documents whose job will not index them, and says why. */
  private async repair(documents: PendingDocument[]): Promise<void> {
    if (documents.length === 0) return;
    const verdicts = await this.inspect(documents);
    const missing: DocumentJob[] = [];
    const replace: DocumentJob[] = [];
    const reasons = new Map<Exclude<JobVerdict, 'ok'>, number>();
    documents.forEach((d, i) => {
      const verdict = verdicts[i];
      if (verdict === 'ok') return;
      reasons.set(verdict, (reasons.get(verdict) ?? 0) + 1);
      const job = { documentId: d.documentId, version: d.version, ...(d.token ? { token: d.token } : {}) };
      // A missing job's id is free: adding it again costs no database write. A token-less document
      // (from before tokens) gets one, so its job has an id of the new form.
      if (verdict === 'missing' && d.token) missing.push(job);
      else replace.push(job);
    });
    if (reasons.size === 0) return;
    const replaced = await this.jobs.retoken(replace);
    await this.enqueue([...missing, ...replaced]);
    const why = [...reasons].map(([verdict, n]) => `${n} ${VERDICT_REASONS[verdict]}`).join(', ');
    this.log.warn(`re-queued ${missing.length + replaced.length} pending document(s): ${why}`);
  }

  /**
   * What Redis holds of each document's job, in one pipeline of O(1) commands per document (BullMQ's
   * getState searches the wait list, linear in the backlog). Completed and failed jobs are in their
   * sets; a job hash without `timestamp` does not exist; one being processed holds a lock.
   */
  private async inspect(documents: PendingDocument[]): Promise<JobVerdict[]> {
    const database = await this.databaseId();
    const pipeline = this.redis.pipeline();
    for (const d of documents) {
      const id = bullJobId(database, d);
      const key = this.queue.toKey(id);
      pipeline.hmget(key, 'timestamp', 'processedOn');
      pipeline.zscore(this.queue.toKey('completed'), id);
      pipeline.zscore(this.queue.toKey('failed'), id);
      pipeline.exists(`${key}:lock`);
    }
    const replies = (await pipeline.exec()) ?? [];
    const reply = (i: number): unknown => {
      const [error, value] = replies[i] ?? [new Error('no reply'), null];
      if (error) throw error;
      return value;
    };
    return documents.map((d, n) => {
      const [timestamp, processedOn] = reply(n * 4) as (string | null)[];
      if (timestamp === null) return 'missing';
      if (reply(n * 4 + 1) !== null) return 'completed';
      if (reply(n * 4 + 2) !== null) return 'failed';
      // Locked and processed, yet the document has not moved for the stall age: a worker that hangs.
      // A dead worker's lock expires, and BullMQ's stall check hands its job on by itself.
      const locked = reply(n * 4 + 3) === 1;
      if (processedOn !== null && locked && d.idleMs > this.config.ingestion.stallAfterMs) return 'stuck';
      return 'ok';
    });
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

const VERDICT_REASONS: Record<Exclude<JobVerdict, 'ok'>, string> = {
  missing: 'had no job in Redis (flushed, restored from an older snapshot, or deleted)',
  completed: 'had a completed job (the document was not indexed by it)',
  failed: 'had a failed job that did not fail the document',
  stuck: 'had a job held active with no progress past INGESTION_STALL_AFTER_MS',
};

/**
 * A document version's job id under its queue token. BullMQ refuses ids that are integers or hold a
 * colon, so the parts are joined by dots; the database part is its id's first 12 hex digits, which tell
 * databases apart (the token alone keeps ids from repeating).
 */
export function bullJobId(database: string, job: DocumentJob): string {
  return `${database.replaceAll('-', '').slice(0, 12)}.${job.documentId}.v${job.version}.${job.token ?? 'none'}`;
}
