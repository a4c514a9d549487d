import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  BACKGROUND_MAX_WAIT_MS,
  REQUEST_FOLLOW_UP_MS,
  RequestBurst,
  SessionScheduler,
} from './session-scheduler.js';

/** Queues a turn and records when it is granted; `release` ends it. */
function turn(s: SessionScheduler, order: string[], name: string, request: boolean) {
  const granted = s.acquire(request).then(() => order.push(name));
  return { granted, release: () => s.release(request) };
}

/** Queues a turn that holds the session for a millisecond once granted, then releases it. */
function briefTurn(s: SessionScheduler, order: string[], name: string, request: boolean) {
  const t = turn(s, order, name, request);
  return t.granted.then(() => sleep(1)).then(t.release);
}

describe('SessionScheduler', () => {
  it('hands the session to waiting requests before waiting background work, each kind in order', async () => {
    const s = new SessionScheduler();
    const order: string[] = [];
    const first = turn(s, order, 'indexing batch', false);
    await first.granted;
    const waiting = [
      briefTurn(s, order, 'merge', false),
      briefTurn(s, order, 'search 1', true),
      briefTurn(s, order, 'analyze', false),
      briefTurn(s, order, 'search 2', true),
    ];
    first.release();
    await Promise.all(waiting);
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

  it('hands the session to background work queued inside a follow-up window once the window closes', async () => {
    const s = new SessionScheduler();
    const order: string[] = [];
    await briefTurn(s, order, 'search', true);
    // Nothing is released after this: the scheduler has to come back to it by itself.
    await briefTurn(s, order, 'indexing', false);
    expect(order).toEqual(['search', 'indexing']);
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

  it('keeps the session from background work for the whole of a request burst, however long its pauses', async () => {
    const s = new SessionScheduler();
    const order: string[] = [];
    let indexing: Promise<unknown> | undefined;
    await RequestBurst.run(async () => {
      await briefTurn(s, order, 'sparse leg', true);
      indexing = briefTurn(s, order, 'indexing', false);
      // The query is embedded meanwhile: far longer than the follow-up window.
      await sleep(REQUEST_FOLLOW_UP_MS * 10);
      await briefTurn(s, order, 'dense leg', true);
      await sleep(REQUEST_FOLLOW_UP_MS * 4);
      await briefTurn(s, order, 'fetch', true);
      expect(order).toEqual(['sparse leg', 'dense leg', 'fetch']);
    });
    // Once the burst has ended (and the follow-up window passed), the indexing goes.
    await indexing;
    expect(order).toEqual(['sparse leg', 'dense leg', 'fetch', 'indexing']);
  });

  it('lets background work that has waited too long go in the middle of a burst', async () => {
    const s = new SessionScheduler();
    const order: string[] = [];
    await RequestBurst.run(async () => {
      await briefTurn(s, order, 'statement 1', true);
      const indexing = briefTurn(s, order, 'indexing', false);
      await indexing;
      await briefTurn(s, order, 'statement 2', true);
    });
    expect(order).toEqual(['statement 1', 'indexing', 'statement 2']);
  });
});
