import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BACKGROUND_MAX_WAIT_MS, REQUEST_FOLLOW_UP_MS, SessionScheduler } from './session-scheduler.js';

/** Queues a turn and records when it is granted; `release` ends it. */
function turn(s: SessionScheduler, order: string[], name: string, request: boolean) {
  const granted = s.acquire(request).then(() => order.push(name));
  return { granted, release: () => s.release(request) };
}

describe('SessionScheduler', () => {
  it('hands the session to waiting requests before waiting background work, each kind in order', async () => {
    const s = new SessionScheduler();
    const order: string[] = [];
    const first = turn(s, order, 'indexing batch', false);
    await first.granted;
    const waiting = [
      turn(s, order, 'merge', false),
      turn(s, order, 'search 1', true),
      turn(s, order, 'analyze', false),
      turn(s, order, 'search 2', true),
    ];
    first.release();
    for (const w of waiting) {
      await sleep(1);
      w.release();
    }
    await Promise.all(waiting.map((w) => w.granted));
    await sleep(REQUEST_FOLLOW_UP_MS * 3);
    expect(order).toEqual(['indexing batch', 'search 1', 'search 2', 'merge', 'analyze']);
  });

  it("keeps the session for a request's next statement for a moment before background work gets it", async () => {
    const s = new SessionScheduler();
    const order: string[] = [];
    const statement1 = turn(s, order, 'search statement 1', true);
    await statement1.granted;
    const indexing = turn(s, order, 'indexing', false);
    statement1.release();
    // The search's next statement comes a little later, within the follow-up window: it goes first.
    await sleep(1);
    const statement2 = turn(s, order, 'search statement 2', true);
    await statement2.granted;
    expect(order).toEqual(['search statement 1', 'search statement 2']);
    statement2.release();
    // No more: the background work gets the session once the window has passed.
    await indexing.granted;
    expect(order).toEqual(['search statement 1', 'search statement 2', 'indexing']);
  });

  it('lets background work that has waited too long go before requests, so searches cannot starve it', async () => {
    const s = new SessionScheduler();
    const order: string[] = [];
    const holder = turn(s, order, 'search 0', true);
    await holder.granted;
    const indexing = turn(s, order, 'indexing', false);
    await sleep(BACKGROUND_MAX_WAIT_MS + 20);
    const search = turn(s, order, 'search 1', true);
    holder.release();
    await indexing.granted;
    indexing.release();
    await search.granted;
    expect(order).toEqual(['search 0', 'indexing', 'search 1']);
  });
});
