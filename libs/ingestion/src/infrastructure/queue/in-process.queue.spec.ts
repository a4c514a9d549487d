import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { InProcessQueue } from './in-process.queue.js';

/** The embedded job queue: batching, bounded concurrency, de-duplication, idle and stop. Real timers. */

interface Job {
  id: string;
}

const job = (id: string): Job => ({ id });
const ids = (batch: Job[]): string[] => batch.map((j) => j.id);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A handler whose batches stay running until the test releases them, recording what it saw. */
function gatedHandler() {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  const handler = async (batch: Job[]): Promise<void> => {
    batches.push(ids(batch));
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
  };
  return {
    handler,
    batches,
    get maxRunning() {
      return maxRunning;
    },
    /** Releases every batch started so far and lets their completion run. */
    async releaseAll(): Promise<void> {
      for (const open of gates.splice(0)) open();
      await sleep(0);
    },
  };
}

describe('InProcessQueue', () => {
  let logError: MockInstance;

  beforeEach(() => {
    logError = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('drains jobs in batches of at most batchSize, in order', async () => {
    const batches: string[][] = [];
    const queue = new InProcessQueue<Job>(
      async (batch) => {
        batches.push(ids(batch));
      },
      (j) => j.id,
      { concurrency: 1, batchSize: 2 },
    );
    queue.add(['a', 'b', 'c', 'd', 'e'].map(job));
    await queue.idle();
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('runs at most `concurrency` handlers at once', async () => {
    const h = gatedHandler();
    const queue = new InProcessQueue<Job>(h.handler, (j) => j.id, { concurrency: 2, batchSize: 1 });
    queue.add(['a', 'b', 'c', 'd', 'e'].map(job));
    expect(h.batches).toEqual([['a'], ['b']]);
    expect(queue.size).toBe(5);

    await h.releaseAll();
    expect(h.batches).toEqual([['a'], ['b'], ['c'], ['d']]);

    await h.releaseAll();
    await h.releaseAll();
    await queue.idle();
    expect(h.batches).toEqual([['a'], ['b'], ['c'], ['d'], ['e']]);
    expect(h.maxRunning).toBe(2);
  });

  it('drops a job whose key is already waiting, within one add and across adds', async () => {
    const h = gatedHandler();
    const queue = new InProcessQueue<Job>(h.handler, (j) => j.id, { concurrency: 1, batchSize: 10 });
    queue.add([job('a')]);
    queue.add([job('b'), job('b'), job('c')]);
    queue.add([job('c'), job('d')]);
    expect(queue.size).toBe(4);

    await h.releaseAll();
    await h.releaseAll();
    await queue.idle();
    expect(h.batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('accepts again a job whose key is running, since its batch may predate the change', async () => {
    const h = gatedHandler();
    const queue = new InProcessQueue<Job>(h.handler, (j) => j.id, { concurrency: 1, batchSize: 10 });
    queue.add([job('a')]);
    queue.add([job('a')]);
    expect(queue.size).toBe(2);

    await h.releaseAll();
    await h.releaseAll();
    await queue.idle();
    expect(h.batches).toEqual([['a'], ['a']]);
  });

  describe('idle', () => {
    it('resolves at once when nothing was added', async () => {
      const queue = new InProcessQueue<Job>(
        async () => undefined,
        (j) => j.id,
        {
          concurrency: 1,
          batchSize: 1,
        },
      );
      await expect(queue.idle()).resolves.toBeUndefined();
    });

    it('resolves only once every pending and running batch is done', async () => {
      const h = gatedHandler();
      const queue = new InProcessQueue<Job>(h.handler, (j) => j.id, { concurrency: 1, batchSize: 1 });
      queue.add([job('a'), job('b')]);
      let idle = false;
      const idled = queue.idle().then(() => {
        idle = true;
      });

      await h.releaseAll();
      expect(h.batches).toEqual([['a'], ['b']]);
      expect(idle).toBe(false);

      await h.releaseAll();
      await idled;
      expect(idle).toBe(true);
      expect(queue.size).toBe(0);
    });

    it('resolves every waiter', async () => {
      const h = gatedHandler();
      const queue = new InProcessQueue<Job>(h.handler, (j) => j.id, { concurrency: 1, batchSize: 1 });
      queue.add([job('a')]);
      const waiters = Promise.all([queue.idle(), queue.idle()]);
      await h.releaseAll();
      await expect(waiters).resolves.toEqual([undefined, undefined]);
    });
  });

  describe('stop', () => {
    it('waits for running batches and starts no new one', async () => {
      const h = gatedHandler();
      const queue = new InProcessQueue<Job>(h.handler, (j) => j.id, { concurrency: 1, batchSize: 1 });
      queue.add([job('a'), job('b')]);

      let stopped = false;
      const stopping = queue.stop().then(() => {
        stopped = true;
      });
      await sleep(20);
      expect(stopped).toBe(false);

      await h.releaseAll();
      await stopping;
      expect(stopped).toBe(true);

      queue.add([job('c')]);
      await sleep(20);
      expect(h.batches).toEqual([['a']]);
    });

    it('resolves at once when nothing is running', async () => {
      const queue = new InProcessQueue<Job>(
        async () => undefined,
        (j) => j.id,
        {
          concurrency: 1,
          batchSize: 1,
        },
      );
      await expect(queue.stop()).resolves.toBeUndefined();
    });
  });

  it('logs a failing batch and goes on with the next ones', async () => {
    const handled: string[][] = [];
    const queue = new InProcessQueue<Job>(
      async (batch) => {
        handled.push(ids(batch));
        if (batch.some((j) => j.id === 'bad')) throw new Error('boom');
      },
      (j) => j.id,
      { concurrency: 1, batchSize: 1 },
    );
    queue.add([job('bad'), job('good')]);
    await queue.idle();
    queue.add([job('later')]);
    await queue.idle();

    expect(handled).toEqual([['bad'], ['good'], ['later']]);
    expect(logError).toHaveBeenCalledTimes(1);
    expect(logError).toHaveBeenCalledWith(expect.stringContaining('batch of 1 failed: Error: boom'));
  });
});
