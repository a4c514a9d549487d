import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
  type OnModuleDestroy,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Observable } from 'rxjs';
import { AppError } from '#contracts';
import { CONFIG, type AppConfig } from '../config/app-config.js';
import { RATE_LIMIT_BUDGETS, type RateLimitBudget } from '../config/security-config.js';

export const RATE_LIMITED = 'GATEWAY.RATE_LIMITED';

const BUDGET = Symbol('rate-limit-budget');
/** The budget a route (or every route of a controller) draws from; routes without one are not limited. */
export const RateLimit = (budget: RateLimitBudget) => SetMetadata(BUDGET, budget);

/** Who a request is counted against: its API key (request.principal, set by auth), else its address. */
export function rateLimitKey(req: Request & { principal?: { id: string } }): string {
  return req.principal?.id
    ? `key:${req.principal.id}`
    : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}

export interface RateLimitVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  windowSeconds: number;
  resetSeconds: number;
}

/**
 * One counter per budget and caller (rate-limiter-flexible's fixed windows), in Redis when there is one,
 * so every gateway replica draws from the same budget; in this process otherwise (the single binary). If
 * Redis fails, each process counts on its own meanwhile (the insurance limiter) rather than refusing all.
 */
@Injectable()
export class RateLimiter implements OnModuleDestroy {
  private readonly limiters = new Map<RateLimitBudget, RateLimiterAbstract>();
  private readonly redis?: Redis;
  readonly windowSeconds: number;

  constructor(@Inject(CONFIG) config: Pick<AppConfig, 'security' | 'redisUrl' | 'redisPrefix'>) {
    const limits = config.security.rateLimit;
    this.windowSeconds = Math.max(1, Math.ceil((limits?.windowMs ?? 1000) / 1000));
    if (!limits) return;
    if (config.redisUrl)
      this.redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    // An unreachable Redis is the insurance limiter's to cover; the client retries in the background.
    this.redis?.on('error', () => {});
    for (const budget of RATE_LIMIT_BUDGETS) {
      const options = {
        points: limits.budgets[budget],
        duration: this.windowSeconds,
        keyPrefix: `${config.redisPrefix}:rl:${budget}`,
      };
      const memory = new RateLimiterMemory(options);
      this.limiters.set(
        budget,
        this.redis
          ? new RateLimiterRedis({ ...options, storeClient: this.redis, insuranceLimiter: memory })
          : memory,
      );
    }
  }

  get enabled(): boolean {
    return this.limiters.size > 0;
  }

  async consume(budget: RateLimitBudget, key: string): Promise<RateLimitVerdict> {
    const limiter = this.limiters.get(budget)!;
    const verdict = (res: RateLimiterRes, allowed: boolean): RateLimitVerdict => ({
      allowed,
      limit: limiter.points,
      remaining: Math.max(0, res.remainingPoints),
      windowSeconds: this.windowSeconds,
      resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    });
    try {
      return verdict(await limiter.consume(key), true);
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return verdict(refusal, false);
      throw refusal;
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.redis?.disconnect();
  }
}

/**
 * Charges each request to its route's budget before anything else is done for it (an upload is refused
 * before its body is read), and tells the client where it stands in the IETF RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "search";q=60000;w=60` and
 * `RateLimit: "search";r=59990;t=42`. Over budget: 429 with `Retry-After`.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http' || !this.limiter.enabled) return next.handle();
    const budget = this.reflector.getAllAndOverride<RateLimitBudget | undefined>(BUDGET, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!budget) return next.handle();
    const http = context.switchToHttp();
    const res = http.getResponse<Response>();
    const v = await this.limiter.consume(budget, rateLimitKey(http.getRequest()));
    res.setHeader('RateLimit-Policy', `"${budget}";q=${v.limit};w=${v.windowSeconds}`);
    res.setHeader('RateLimit', `"${budget}";r=${v.remaining};t=${v.resetSeconds}`);
    if (!v.allowed) {
      res.setHeader('Retry-After', String(v.resetSeconds));
      throw new AppError(
        RATE_LIMITED,
        `rate limit of ${v.limit} ${budget} requests per ${v.windowSeconds} s reached; try again in ${v.resetSeconds} s`,
        { budget, limit: v.limit, windowSeconds: v.windowSeconds, retryAfterSeconds: v.resetSeconds },
      );
    }
    return next.handle();
  }
}
