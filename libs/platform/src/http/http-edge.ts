import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Server } from 'node:http';
import { httpStatusOf } from '#contracts';
import type { SecurityConfig } from '../config/security-config.js';
import { RequestContext } from '../context/request-context.js';
import { contentSecurityPolicy } from './security-headers.js';

/**
 * What every HTTP request meets before a body parser or a route: its request id (so that even a body
 * that does not parse, or a path the router cannot decode, is answered with one), the security headers,
 * the CORS policy, the refusal of cross-site writes, and a deadline on receiving the body. Installed by
 * the bootstrap before the body parsers, in this order.
 */
export function installHttpEdge(app: INestApplication, security: SecurityConfig): void {
  app.use(assignRequestId);
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(security) },
      // The API is called cross-origin only by the origins CORS_ORIGINS allows, which CORS governs.
      crossOriginResourcePolicy: { policy: 'same-origin' },
    }),
  );
  const anyOrigin = security.corsOrigins.includes('*');
  app.enableCors({
    origin: anyOrigin ? true : [...security.corsOrigins],
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'traceparent', 'Last-Event-ID'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'Server-Timing'],
    maxAge: 600,
  });
  // A form or multipart POST needs no preflight, so CORS alone would let any web page write into a
  // ragnest its visitor can reach (one on their laptop, say). Nest's check (Go's CrossOriginProtection)
  // refuses a state-changing request a browser marks as cross-site, unless its origin is allowed.
  if (!anyOrigin) app.enableCsrfProtection({ trustedOrigins: [...security.corsOrigins] });
  app.use(bodyDeadline(security.bodyTimeoutMs));
}

/**
 * Node's own walls against slow clients: the headers within `headersTimeoutMs`, the whole request within
 * the headers' and the body's time together (the body deadline answers first, in the error shape).
 */
export function limitSlowClients(server: Server, security: SecurityConfig): void {
  server.headersTimeout = security.headersTimeoutMs;
  server.requestTimeout = security.headersTimeoutMs + security.bodyTimeoutMs + 1000;
}

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's X-Request-Id when it is sane, else a new one; on the request and the response. */
export function assignRequestId(
  req: Request & { requestId?: string },
  res: Response,
  next: NextFunction,
): void {
  const given = req.header('x-request-id');
  req.requestId = given && CLIENT_ID.test(given) ? given : RequestContext.newRequestId();
  res.setHeader('X-Request-Id', req.requestId);
  next();
}

export const REQUEST_TIMEOUT = 'GATEWAY.REQUEST_TIMEOUT';

/**
 * A body still incomplete `ms` after the request began is answered 408 and its connection closed: a
 * client that announces a Content-Length and sends less (or trickles it) holds nothing for long.
 */
export function bodyDeadline(ms: number) {
  return (req: Request & { requestId?: string }, res: Response, next: NextFunction): void => {
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody || req.complete) return next();
    const timer = setTimeout(() => {
      if (req.complete || res.writableEnded) return;
      if (!res.headersSent) {
        res.setHeader('Connection', 'close');
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.statusCode = httpStatusOf(REQUEST_TIMEOUT);
        const body = {
          error: {
            code: REQUEST_TIMEOUT,
            message: `the request body did not arrive within ${ms} ms`,
            requestId: req.requestId ?? '',
          },
        };
        res.end(JSON.stringify(body), () => req.socket.destroy());
      } else {
        req.socket.destroy();
      }
    }, ms);
    timer.unref();
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    req.once('close', clear);
    res.once('finish', clear);
    next();
  };
}
