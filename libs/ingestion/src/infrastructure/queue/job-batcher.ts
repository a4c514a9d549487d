/**
 * Groups jobs that a queue hands over one at a time into batches for a handler that works best on many
 * at once (one embedding call, one transaction). Jobs wait at most `lingerMs` for company; at most
 * `concurrency` batches run at once. Each job's promise settles with its batch.
 */
export class JobBatcher<J> {
  private waiting: { job: J; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private running = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly handler: (jobs: J[]) => Promise<void>,
    private readonly options: { concurrency: number; batchSize: number; lingerMs: number },
  ) {}

  submit(job: J): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running >= this.options.concurrency || this.waiting.length === 0) return;
    if (this.waiting.length >= this.options.batchSize) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.options.lingerMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running >= this.options.concurrency || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.options.batchSize);
    this.running++;
    this.handler(batch.map((b) => b.job))
      .then(
        () => batch.forEach((b) => b.resolve()),
        (error: unknown) => batch.forEach((b) => b.reject(error)),
      )
      .finally(() => {
        this.running--;
        this.schedule();
      });
  }
}
