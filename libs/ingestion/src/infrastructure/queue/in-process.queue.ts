import { Logger } from '@nestjs/common';
import { BackgroundWork } from '#platform';

/**
 * The embedded deployment's job queue: a bounded set of workers draining an in-memory list in batches.
 * It only dispatches; the database holds every document's state, so jobs lost with the process are
 * found again at the next start (documents left queued or processing).
 */
export class InProcessQueue<J> {
  private readonly log = new Logger('InProcessQueue');
  private readonly pending: J[] = [];
  private readonly keys = new Set<string>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: (batch: J[]) => Promise<void>,
    private readonly key: (job: J) => string,
    private readonly options: { concurrency: number; batchSize: number; onIdle?: () => Promise<void> },
  ) {}

  /** Adds jobs not already waiting; returns at once. */
  add(jobs: J[]): void {
    for (const job of jobs) {
      const k = this.key(job);
      if (this.keys.has(k)) continue;
      this.keys.add(k);
      this.pending.push(job);
    }
    this.pump();
  }

  get size(): number {
    return this.pending.length + this.running;
  }

  /** Resolves when nothing is pending or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking new batches and waits for those running. */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.running > 0) await new Promise((r) => setTimeout(r, 10));
  }

  /** Runs the idle hook (its failure is logged), then releases whoever waits for idleness. */
  private async settle(): Promise<void> {
    await this.options
      .onIdle?.()
      .catch((error: Error) => this.log.warn(`idle hook failed: ${error.message}`));
    if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.options.concurrency && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.batchSize);
      for (const job of batch) this.keys.delete(this.key(job));
      this.running++;
      // A handler that throws synchronously still settles through the promise, so `running` comes back down.
      let run: Promise<void>;
      try {
        // Not part of the request that queued it (whose context it would otherwise inherit).
        run = BackgroundWork.run(() => this.handler(batch));
      } catch (error) {
        run = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      run
        .catch((error: Error) =>
          this.log.error(`batch of ${batch.length} failed: ${error.stack ?? error.message}`),
        )
        .finally(() => {
          this.running--;
          this.pump();
          if (this.size === 0) void BackgroundWork.run(() => this.settle());
        });
    }
  }
}
