import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  bulkhead,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  wrap,
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { AppError, ErrorCode } from '#contracts';
import { CONFIG, type AppConfig } from '../config/app-config.js';
import { databaseInputError } from '../database/database-input-error.js';

/**
 * One resilience policy per call target (a message pattern), so what happens under faults is decided
 * here and nowhere else. Timeouts come from the request deadline at the call site; here a bulkhead
 * bounds concurrent and queued calls per target and a breaker stops hammering a target that keeps
 * failing. Only failures that say the target is unhealthy (5xx-class, timeouts, transport errors) trip
 * it: a 4xx is the caller's fault, not the target's. The limits are the same for every target and come
 * from the configuration (BREAKER_*, BULKHEAD_*).
 */
export function isTargetFailure(error: unknown): boolean {
  // No live replica already fails fast: opening the circuit would only delay recovery when one returns.
  if (error instanceof AppError) return error.status >= 500 && error.code !== ErrorCode.TransportNoReplica;
  // A value the database refused as data is the caller's bad input, however it reached the database.
  return databaseInputError(error) === undefined;
}

/** What /health/ready shows of one target: its circuit, and how full its bulkhead is. */
export interface TargetStatus {
  state: 'Closed' | 'Open' | 'HalfOpen' | 'Isolated';
  executing: number;
  queued: number;
}

interface Target {
  policy: IPolicy;
  breaker: CircuitBreakerPolicy;
  bulkhead: BulkheadPolicy;
  /** When the circuit last opened (ms since the epoch). */
  openedAt: number;
}

@Injectable()
export class ResilienceService {
  private readonly log = new Logger('Resilience');
  private readonly targets = new Map<string, Target>();

  constructor(@Inject(CONFIG) private readonly config: Pick<AppConfig, 'resilience'>) {}

  /** Every target called so far, for /health/ready. */
  status(): Record<string, TargetStatus> {
    const { maxConcurrent, maxQueued } = this.config.resilience;
    const out: Record<string, TargetStatus> = {};
    for (const [name, target] of this.targets) {
      let state = CircuitState[target.breaker.state] as TargetStatus['state'];
      // Cockatiel half-opens on the next call after the delay. Without traffic (readiness red keeps a
      // load balancer from sending any) that call never comes, so past the delay the circuit is reported
      // as what it is: ready to let a trial call through.
      if (state === 'Open' && Date.now() - target.openedAt >= this.config.resilience.halfOpenMs)
        state = 'HalfOpen';
      out[name] = {
        state,
        executing: maxConcurrent - target.bulkhead.executionSlots,
        queued: maxQueued - target.bulkhead.queueSlots,
      };
    }
    return out;
  }

  async execute<T>(target: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.target(target).policy.execute(({ signal }) => fn(signal));
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new AppError(`${target.toUpperCase()}.UNAVAILABLE`, `${target} is failing; circuit open`);
      }
      if (error instanceof BulkheadRejectedError) {
        // Back-pressure: refuse at once rather than queue without bound; the HTTP layer adds Retry-After.
        throw new AppError(ErrorCode.Overloaded, `${target} is at capacity; try again shortly`, {
          target,
        });
      }
      throw error;
    }
  }

  private target(name: string): Target {
    let target = this.targets.get(name);
    if (!target) {
      const o = this.config.resilience;
      const breaker = circuitBreaker(handleWhen(isTargetFailure), {
        halfOpenAfter: o.halfOpenMs,
        breaker: new ConsecutiveBreaker(o.breakerThreshold),
      });
      // Each event fires once per transition, so an outage logs one line when it starts and one when it ends.
      breaker.onBreak(() => {
        target!.openedAt = Date.now();
        this.log.warn(`circuit for ${name} opened; calls fail fast for ${o.halfOpenMs} ms`);
      });
      breaker.onHalfOpen(() => this.log.log(`circuit for ${name} half-open; letting a trial call through`));
      breaker.onReset(() => this.log.log(`circuit for ${name} closed`));
      const limiter = bulkhead(o.maxConcurrent, o.maxQueued);
      target = { policy: wrap(limiter, breaker), breaker, bulkhead: limiter, openedAt: 0 };
      this.targets.set(name, target);
    }
    return target;
  }
}
