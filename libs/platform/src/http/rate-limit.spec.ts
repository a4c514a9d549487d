import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { RateLimiter, rateLimitKey } from './rate-limit.js';

describe('RateLimiter without Redis (the single binary)', () => {
  it('counts in process, per budget and per caller', async () => {
    const limiter = new RateLimiter(
      loadConfig({ RATE_LIMIT_SEARCH: '2', RATE_LIMIT_QUERY: '1', RATE_LIMIT_WINDOW_MS: '10000' }),
    );
    const first = await limiter.consume('search', 'ip:1');
    expect(first).toMatchObject({ allowed: true, limit: 2, remaining: 1, windowSeconds: 10 });
    expect((await limiter.consume('search', 'ip:1')).allowed).toBe(true);
    const third = await limiter.consume('search', 'ip:1');
    expect(third).toMatchObject({ allowed: false, remaining: 0 });
    expect(third.resetSeconds).toBeGreaterThan(0);
    expect(third.resetSeconds).toBeLessThanOrEqual(10);
    expect((await limiter.consume('search', 'ip:2')).allowed).toBe(true);
    expect((await limiter.consume('query', 'ip:1')).allowed).toBe(true);
    expect((await limiter.consume('query', 'ip:1')).allowed).toBe(false);
  });

  it('is off with RATE_LIMIT=off', () => {
    expect(new RateLimiter(loadConfig({ RATE_LIMIT: 'off' })).enabled).toBe(false);
  });

  it('charges an API key, else the client address', () => {
    const req = { ip: '10.0.0.7', socket: {} } as Request;
    expect(rateLimitKey(req)).toBe('ip:10.0.0.7');
    expect(rateLimitKey(Object.assign(req, { principal: { id: 'k_123' } }))).toBe('key:k_123');
  });
});
