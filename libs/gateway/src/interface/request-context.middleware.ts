import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { CONFIG, type AppConfig, RequestContext } from '#platform';
import { requestTraceparent } from '#observability';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each HTTP request its id (the client's X-Request-Id when it is sane, else a new one), its trace
 * context (the client's W3C traceparent, else a new trace) and its deadline; all three travel with every call the request causes, in this process and across transports.
 */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  constructor(@Inject(CONFIG) private readonly config: AppConfig) {}

  use(req: Request & { requestId?: string }, res: Response, next: NextFunction): void {
    const given = req.header('x-request-id');
    // The HTTP edge (assignRequestId) has usually named the request already, before its body was parsed.
    const requestId =
      req.requestId ?? (given && CLIENT_ID.test(given) ? given : RequestContext.newRequestId());
    req.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const traceparent = requestTraceparent(req.header('traceparent'));
    RequestContext.run({ requestId, deadline: Date.now() + this.config.requestTimeoutMs, traceparent }, () =>
      next(),
    );
  }
}
