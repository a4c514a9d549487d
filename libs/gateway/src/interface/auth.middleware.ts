import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AppError, type Principal } from '#contracts';
import { Authenticator } from '../application/auth/authenticator.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The caller of a request that carried a valid API key; absent when it was let in without one. */
    principal?: Principal;
  }
}

/**
 * Authenticates every request to the API (`/rag`, `/v1`, `/mcp`) before any guard, interceptor or
 * handler runs, and puts the caller on the request as `request.principal`. It runs as middleware so
 * that other middleware after it (rate limits per key) can read the principal too.
 */
@Injectable()
export class AuthMiddleware implements NestMiddleware {
  constructor(private readonly authenticator: Authenticator) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      req.principal = await this.authenticator.authenticate({
        authorization: req.header('authorization'),
        remoteAddress: req.socket.remoteAddress,
      });
    } catch (error) {
      if (error instanceof AppError && error.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
      throw error;
    }
    next();
  }
}
