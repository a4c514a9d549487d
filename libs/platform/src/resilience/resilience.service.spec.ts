import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '#contracts';
import { loadConfig } from '../config/load-config.js';
import { ResilienceService } from './resilience.service.js';

const failing = () => Promise.reject(new AppError(ErrorCode.TransportTimeout, 'slow'));

describe('ResilienceService', () => {
  it('opens a target’s circuit after BREAKER_THRESHOLD failures and closes it after a good trial call', async () => {
    const service = new ResilienceService(loadConfig({ BREAKER_THRESHOLD: '2', BREAKER_HALF_OPEN_MS: '50' }));
    for (let i = 0; i < 2; i++)
      await expect(service.execute('generation.generate', failing)).rejects.toThrow();
    expect(service.status()['generation.generate']?.state).toBe('Open');
    await expect(service.execute('generation.generate', async () => 'ok')).rejects.toMatchObject({
      code: 'GENERATION.GENERATE.UNAVAILABLE',
      status: 503,
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await expect(service.execute('generation.generate', async () => 'ok')).resolves.toBe('ok');
    expect(service.status()['generation.generate']?.state).toBe('Closed');
  });

  it('does not count a caller’s 4xx against the target', async () => {
    const service = new ResilienceService(loadConfig({ BREAKER_THRESHOLD: '1' }));
    const bad = () => Promise.reject(new AppError(ErrorCode.ValidationFailed, 'bad'));
    await expect(service.execute('retrieval.search', bad)).rejects.toThrow('bad');
    expect(service.status()['retrieval.search']?.state).toBe('Closed');
  });

  it('refuses at once with 503 GATEWAY.OVERLOADED when the bulkhead and its queue are full', async () => {
    const service = new ResilienceService(
      loadConfig({ BULKHEAD_MAX_CONCURRENT: '1', BULKHEAD_MAX_QUEUED: '1' }),
    );
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const running = service.execute('retrieval.search', () => held);
    const waiting = service.execute('retrieval.search', async () => 'queued');
    expect(service.status()['retrieval.search']).toEqual({ state: 'Closed', executing: 1, queued: 1 });
    await expect(service.execute('retrieval.search', async () => 'third')).rejects.toMatchObject({
      code: ErrorCode.Overloaded,
      status: 503,
    });
    release();
    await running;
    await expect(waiting).resolves.toBe('queued');
    expect(service.status()['retrieval.search']).toEqual({ state: 'Closed', executing: 0, queued: 0 });
  });
});
