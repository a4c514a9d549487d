import { describe, expect, it } from 'vitest';
import { EventLoopTurn } from './event-loop.js';

describe('EventLoopTurn', () => {
  it('is over once it has run its length, and passing lets what waits run before the next turn', async () => {
    const startedAt = performance.now();
    const turn = new EventLoopTurn(20);
    expect(turn.over()).toBe(false);
    let waitingRan = false;
    setImmediate(() => (waitingRan = true));
    while (!turn.over()) {
      // Synchronous work: nothing else runs meanwhile.
    }
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(20);
    await Promise.resolve();
    expect(waitingRan).toBe(false);
    await turn.pass();
    expect(waitingRan).toBe(true);
    // The next turn starts whole.
    expect(turn.over()).toBe(false);
  });
});
