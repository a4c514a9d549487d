import { Injectable, Logger } from '@nestjs/common';
import {
  bulkhead,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  type IPolicy,
  wrap,
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
} from 'cockatiel';
import { AppError, ErrorCode } from '#contracts';

/**
 * One resilience policy per call target (a context, a model, an embedder), so what happens under faults
 * is decided here and nowhere else. Timeouts come from the request deadline at the call site; here a
 * bulkhead bounds concurrent calls per target and a breaker stops hammering a target that keeps failing.
 * Only failures that say the target is unhealthy (5xx-class, timeouts, transport errors) trip it: a 4xx
 * is the caller's fault, not the target's.
 */
export interface TargetPolicyOptions {
  maxConcurrent: number;
  maxQueued: number;
  breakerThreshold: number;
  halfOpenAfterMs: number;
}

const DEFAULTS: TargetPolicyOptions = {
  maxConcurrent: 64,
  maxQueued: 256,
  breakerThreshold: 5,
  halfOpenAfterMs: 5_000,
};

export function isTargetFailure(error: unknown): boolean {
  // No live replica already fails fast: opening the circuit would only delay recovery when one returns.
  if (error instanceof AppError) return error.status >= 500 && error.code !== ErrorCode.TransportNoReplica;
  return true;
}

@Injectable()
export class ResilienceService {
  private readonly log = new Logger('Resilience');
  private readonly policies = new Map<
    string,
    { policy: IPolicy; breaker: ReturnType<typeof circuitBreaker> }
  >();

  policy(target: string, options: Partial<TargetPolicyOptions> = {}): IPolicy {
    return this.entry(target, options).policy;
  }

  /** Breaker states per target, for /health/ready. */
  states(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [target, { breaker }] of this.policies) out[target] = CircuitState[breaker.state];
    return out;
  }

  async execute<T>(target: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.policy(target).execute(({ signal }) => fn(signal));
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new AppError(`${target.toUpperCase()}.UNAVAILABLE`, `${target} is failing; circuit open`, 503);
      }
      if (error instanceof BulkheadRejectedError) {
        throw new AppError(
          `${target.toUpperCase()}.OVERLOADED`,
          `${target} is at capacity; try again shortly`,
          503,
        );
      }
      throw error;
    }
  }

  private entry(target: string, options: Partial<TargetPolicyOptions>) {
    let entry = this.policies.get(target);
    if (!entry) {
      const o = { ...DEFAULTS, ...options };
      const breaker = circuitBreaker(handleWhen(isTargetFailure), {
        halfOpenAfter: o.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(o.breakerThreshold),
      });
      breaker.onBreak(() => this.log.warn(`circuit for ${target} opened`));
      breaker.onReset(() => this.log.log(`circuit for ${target} closed`));
      entry = { policy: wrap(bulkhead(o.maxConcurrent, o.maxQueued), breaker), breaker };
      this.policies.set(target, entry);
    }
    return entry;
  }
}
