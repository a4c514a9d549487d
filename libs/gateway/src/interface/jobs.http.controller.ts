import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, INGESTION_PORT, type IngestionPort, type JobRef, type JobView } from '#contracts';
import { RateLimit, RequestContext, toAppError } from '#platform';
import { isFinal, JobEventTracker } from './job-events.js';
import { openEventStream, SSE_HEARTBEAT, sseFrame } from './sse.js';
import { mayFollowJobs } from './access.js';
import { jobIdParam } from './params.js';

/** The same answer as for a job that does not exist: a job of another collection is not there for this key. */
const JOB_NOT_FOUND = 'INGESTION.JOB_NOT_FOUND';

/** How often a followed job is read, and how often an idle stream is kept alive. */
const POLL_MS = 200;
const HEARTBEAT_MS = 15_000;

/**
 * Ingestion jobs by the id an upload or a retry returned: where that document version stands, once or
 * as a stream of server-sent events. The stream reads the job through the ingestion port like any other
 * call, so it behaves the same whether ingestion runs in this process or behind the transport.
 */
@RateLimit('search')
@Controller('rag/jobs')
export class JobsHttpController {
  constructor(@Inject(INGESTION_PORT) private readonly ingestion: IngestionPort) {}

  @Get(':jobId')
  getJob(@Param('jobId', jobIdParam) jobId: string, @Req() req: Request): Promise<JobView> {
    return this.readJob(req, { jobId });
  }

  /** The job, if the caller may see its collection's jobs (read or write scope), else 404. */
  private async readJob(req: Request, ref: JobRef): Promise<JobView> {
    const view = await this.ingestion.getJob(ref);
    if (!mayFollowJobs(req, view.collection))
      throw new AppError(JOB_NOT_FOUND, `job "${ref.jobId}" does not exist`);
    return view;
  }

  /**
   * `progress` events as the job's state changes, then `done`, `failed` or `superseded`, and the end.
   * At the request deadline the stream ends without a final event: a client reconnects to go on.
   */
  @Get(':jobId/events')
  async events(
    @Param('jobId', jobIdParam) jobId: string,
    @Req() req: Request & { requestId?: string },
    @Res() res: Response,
  ): Promise<void> {
    // Read before the stream opens, so an unknown job is the usual JSON error.
    let view = await this.readJob(req, { jobId });

    openEventStream(res);

    // The client may be gone before the listener is attached: the response then is already destroyed.
    let closed = false;
    let wake = () => {};
    const onClose = () => {
      closed = true;
      wake();
    };
    req.on('close', onClose);
    const gone = () => closed || res.destroyed;
    const write = (frame: string) => {
      if (!gone()) res.write(frame);
    };
    const heartbeat = setInterval(() => write(SSE_HEARTBEAT), HEARTBEAT_MS);
    const tracker = new JobEventTracker();
    try {
      for (;;) {
        const event = tracker.next(view);
        if (event) write(sseFrame(event.event, event.data));
        if (gone() || (event && isFinal(event))) break;
        const remaining = RequestContext.remainingMs();
        if (remaining <= 0) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(POLL_MS, remaining));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (gone() || RequestContext.remainingMs() <= 0) break;
        view = await this.readJob(req, { jobId });
      }
    } catch (error) {
      // A read that ran into the deadline ends the stream like the deadline does; any other is told.
      if (RequestContext.remainingMs() > 0) {
        const e = toAppError(error);
        write(
          sseFrame('error', { error: { code: e.code, message: e.message, requestId: req.requestId ?? '' } }),
        );
      }
    } finally {
      clearInterval(heartbeat);
      req.off('close', onClose);
      res.end();
    }
  }
}
