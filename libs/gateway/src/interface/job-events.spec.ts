import { describe, expect, it } from 'vitest';
import type { JobView } from '#contracts';
import { isFinal, jobEvent, JobEventTracker } from './job-events.js';
import { sseFrame } from './sse.js';

const view = (overrides: Partial<JobView>): JobView => ({
  jobId: '7:1',
  collection: 'c',
  documentId: 'd',
  version: 1,
  status: 'queued',
  progress: 0,
  updatedAt: '2024-01-01T00:00:00.000Z',
  current: true,
  ...overrides,
});

describe('jobEvent', () => {
  it('makes a progress event of a job still on its way, with a null stage when it has none', () => {
    expect(jobEvent(view({}))).toEqual({
      event: 'progress',
      data: { jobId: '7:1', status: 'queued', stage: null, progress: 0 },
    });
    const processing = jobEvent(view({ status: 'processing', stage: 'chunk', progress: 30 }));
    expect(processing.data).toEqual({ jobId: '7:1', status: 'processing', stage: 'chunk', progress: 30 });
    expect(isFinal(processing)).toBe(false);
  });

  it('ends with done, failed (with the error) or superseded', () => {
    const done = jobEvent(view({ status: 'indexed', progress: 100 }));
    expect(done.event).toBe('done');
    const failed = jobEvent(view({ status: 'failed', stage: 'extract', progress: 10, error: 'not a PDF' }));
    expect(failed).toEqual({
      event: 'failed',
      data: { jobId: '7:1', status: 'failed', stage: 'extract', progress: 10, error: 'not a PDF' },
    });
    const superseded = jobEvent(view({ status: 'superseded', progress: undefined, current: false }));
    expect(superseded).toEqual({
      event: 'superseded',
      data: { jobId: '7:1', status: 'superseded', stage: null, progress: null },
    });
    expect([done, failed, superseded].every(isFinal)).toBe(true);
  });
});

describe('JobEventTracker', () => {
  it('sends a state once, however often it is read, and each change as it comes', () => {
    const tracker = new JobEventTracker();
    const reads = [
      view({}),
      view({}),
      view({ status: 'processing', stage: 'extract', progress: 10 }),
      // Only the time moved: nothing to tell.
      view({ status: 'processing', stage: 'extract', progress: 10, updatedAt: '2024-01-01T00:00:01.000Z' }),
      view({ status: 'processing', stage: 'embed', progress: 60 }),
      view({ status: 'indexed', progress: 100 }),
    ];
    const sent = reads.map((r) => tracker.next(r)?.event);
    expect(sent).toEqual(['progress', undefined, 'progress', undefined, 'progress', 'done']);
  });
});

describe('sseFrame', () => {
  it('writes the event name and its JSON data on one line each, ended by a blank line', () => {
    expect(sseFrame('progress', { text: 'a\nb' })).toBe('event: progress\ndata: {"text":"a\\nb"}\n\n');
  });
});
