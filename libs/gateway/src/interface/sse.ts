import type { Response } from 'express';

/** Server-sent events, as the query stream and the job event stream write them. */

/** One server-sent event frame. JSON never contains a raw newline, so the data fits on one line. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by clients, it keeps proxies from closing an idle stream. */
export const SSE_HEARTBEAT = ': ping\n\n';

/** Sends the event-stream headers at once, so the client sees the stream open before the first event. */
export function openEventStream(res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
}
