import type { Queue } from 'bullmq';
import { type Metrics, SpanKind, Tracing } from '#observability';
import { BackgroundWork, RequestContext } from '#platform';

/**
 * What an ingestion job carries of the request that queued it, so the job's logs carry the request id
 * and its spans join the request's trace: the upload, the job, the indexing transaction.
 */
export interface JobTrace {
  requestId?: string;
  traceparent?: string;
}

/** The trace of the request being served, to put in the data of the jobs it queues. */
export function currentJobTrace(): JobTrace | undefined {
  const meta = RequestContext.current();
  const traceparent = Tracing.activeTraceparent() ?? meta?.traceparent;
  if (!meta && !traceparent) return undefined;
  return { requestId: meta?.requestId, traceparent };
}

/**
 * Runs a job's work as the consumer of the request that queued it: a consumer span parented on the
 * job's traceparent, and the request context (its id in every log line; no deadline, since a job's
 * time is the queue's to bound, not the long-gone HTTP request's).
 */
export function runJob<T>(name: string, trace: JobTrace | undefined, fn: () => Promise<T>): Promise<T> {
  const work = () =>
    BackgroundWork.run(() =>
      Tracing.inSpan(
        `${name} process`,
        {
          kind: SpanKind.CONSUMER,
          parent: trace?.traceparent,
          attributes: { 'messaging.system': 'bullmq', 'messaging.operation.type': 'process' },
        },
        fn,
      ),
    );
  if (!trace?.requestId) return work();
  return RequestContext.run(
    { requestId: trace.requestId, deadline: Number.POSITIVE_INFINITY, traceparent: trace.traceparent },
    work,
  );
}

/** Reads the queue's job counts by state whenever /metrics is scraped; returns the collector's removal. */
export function watchQueue(metrics: Metrics, name: string, queue: Queue): () => void {
  return metrics.onScrape(async () => {
    const c = await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'prioritized', 'completed');
    metrics.ingestion.queueJobs(name, {
      waiting: c.wait,
      active: c.active,
      delayed: c.delayed,
      failed: c.failed,
      prioritized: c.prioritized,
      completed: c.completed,
    });
  });
}
