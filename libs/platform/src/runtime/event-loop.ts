/**
 * Lets the event loop serve what waits (a heartbeat, a health probe, a search, a streamed answer) between
 * two pieces of CPU work: awaiting a promise that is already settled does not give the thread away.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Long synchronous work cut into turns: `if (turn.over()) await turn.pass()` between two of its steps
 * gives the thread away once the current turn has run `turnMs`. A replica whose thread a merge held for
 * seconds missed its heartbeats and was taken for dead by its callers.
 */
export class EventLoopTurn {
  private startedAt = performance.now();

  constructor(private readonly turnMs = 25) {}

  over(): boolean {
    return performance.now() - this.startedAt >= this.turnMs;
  }

  async pass(): Promise<void> {
    await yieldToEventLoop();
    this.startedAt = performance.now();
  }
}
