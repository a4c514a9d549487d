import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { SpanKind } from '@opentelemetry/api';
import { type Metrics, secondsSince } from '../metrics/metrics.service.js';
import { Tracing } from '../tracing/tracing.js';

/** Paths probed every few seconds: logged at debug, not traced, so they do not drown the requests. */
const PROBES = /^\/(health(\/|$)|metrics$)/;

/**
 * The route template a request matched (`/rag/collections/:name/documents`), never its path: paths
 * carry ids and names without bound, and query strings carry the users' questions.
 */
export function routeOf(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}` || '/';
  return 'unmatched';
}

/**
 * One access log line per HTTP request (method, route template, status, duration), the request's
 * HTTP metrics, and, with tracing on, its server span: the parent of everything the request causes,
 * itself a child of the client's `traceparent` when one came.
 */
export function accessLog(logger: Logger, metrics: Metrics) {
  const log = logger.child({ context: 'http' });
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    const probe = PROBES.test(req.path);
    const span = probe
      ? undefined
      : Tracing.startSpan(`${req.method} ${req.path.split('/').slice(0, 3).join('/')}`, {
          kind: SpanKind.SERVER,
          parent: Tracing.contextOf(req.header('traceparent')),
          attributes: { 'http.request.method': req.method },
        });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const route = routeOf(req);
      const status = res.headersSent ? res.statusCode : 499;
      const seconds = secondsSince(started);
      metrics.http.observe(req.method, route, status, seconds);
      const requestId =
        (req as Request & { requestId?: string }).requestId ?? res.getHeader('x-request-id') ?? undefined;
      const line = {
        method: req.method,
        route,
        status,
        durationMs: Math.round(seconds * 100_000) / 100,
        ...(requestId !== undefined && { requestId: String(requestId) }),
        ...(span && { traceId: span.spanContext().traceId }),
      };
      if (probe) log.debug(line, 'request');
      else log.info(line, 'request');
      if (span) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) Tracing.fail(span, new Error(`HTTP ${status}`));
        span.end();
      }
    };
    res.once('finish', finish);
    res.once('close', finish);
    Tracing.with(span, () => next());
  };
}
