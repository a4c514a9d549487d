import type { DocumentStage, JobView } from '#contracts';

/**
 * What a job's event stream says, decided from successive reads of the job: a `progress` event each
 * time its state changes, then one final event (`done`, `failed` or `superseded`) that ends the stream.
 */

export type JobEventName = 'progress' | 'done' | 'failed' | 'superseded';

export interface JobEventData {
  jobId: string;
  status: JobView['status'];
  stage: DocumentStage | null;
  progress: number | null;
  error?: string;
}

export interface JobEvent {
  event: JobEventName;
  data: JobEventData;
}

/** The event a job's state calls for, and whether it is the last one. */
export function jobEvent(view: JobView): JobEvent {
  const data: JobEventData = {
    jobId: view.jobId,
    status: view.status,
    stage: view.stage ?? null,
    progress: view.progress ?? null,
    ...(view.error !== undefined ? { error: view.error } : {}),
  };
  switch (view.status) {
    case 'indexed':
      return { event: 'done', data };
    case 'failed':
      return { event: 'failed', data };
    case 'superseded':
      return { event: 'superseded', data };
    default:
      return { event: 'progress', data };
  }
}

export function isFinal(event: JobEvent): boolean {
  return event.event !== 'progress';
}

/** Remembers the last state sent, so that a read which changed nothing sends nothing. */
export class JobEventTracker {
  private last?: string;

  /** The event to send for this read of the job, or undefined when its state has not changed. */
  next(view: JobView): JobEvent | undefined {
    const event = jobEvent(view);
    const key = JSON.stringify(event);
    if (key === this.last) return undefined;
    this.last = key;
    return event;
  }
}
