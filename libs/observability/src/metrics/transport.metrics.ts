import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from './http.metrics.js';

/** How a call between contexts ended, as its caller saw it. */
export type CallOutcome = 'ok' | 'client_error' | 'error' | 'timeout' | 'unavailable';

/** The breaker states, one series each (1 for the current state), as Prometheus models an enum. */
const BREAKER_STATES = ['Closed', 'HalfOpen', 'Open', 'Isolated'] as const;

/** What a call target's policy reports: its circuit, and how full its bulkhead is. */
export interface TargetLoad {
  state: (typeof BREAKER_STATES)[number];
  executing: number;
  queued: number;
}

/**
 * Calls across context boundaries, by target (a message pattern, or `embedder.<model>`: a bounded set),
 * from both ends: the caller's view (latency and outcome, transport included) and the handler's. Breaker
 * state and bulkhead load are read from the resilience policies when scraped.
 */
export class TransportMetrics {
  private readonly calls: Counter<'target' | 'outcome'>;
  private readonly callDuration: Histogram<'target' | 'outcome'>;
  private readonly handled: Histogram<'pattern' | 'outcome'>;
  private readonly breaker: Gauge<'target' | 'state'>;
  private readonly executing: Gauge<'target'>;
  private readonly queued: Gauge<'target'>;

  constructor(registry: Registry) {
    this.calls = new Counter({
      name: 'ragnest_transport_calls_total',
      help: 'Calls to another context (or a model behind a breaker), by target and outcome.',
      labelNames: ['target', 'outcome'],
      registers: [registry],
    });
    this.callDuration = new Histogram({
      name: 'ragnest_transport_call_duration_seconds',
      help: 'Latency of calls to another context as the caller sees it, transport included.',
      labelNames: ['target', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.handled = new Histogram({
      name: 'ragnest_transport_handled_duration_seconds',
      help: 'Time this process spent handling a message, by pattern and outcome.',
      labelNames: ['pattern', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.breaker = new Gauge({
      name: 'ragnest_circuit_breaker_state',
      help: 'State of each call target circuit breaker: 1 for its current state, 0 for the others.',
      labelNames: ['target', 'state'],
      registers: [registry],
    });
    this.executing = new Gauge({
      name: 'ragnest_bulkhead_executing_calls',
      help: 'Calls in flight to each target (bulkhead slots taken).',
      labelNames: ['target'],
      registers: [registry],
    });
    this.queued = new Gauge({
      name: 'ragnest_bulkhead_queued_calls',
      help: 'Calls waiting for a bulkhead slot, per target.',
      labelNames: ['target'],
      registers: [registry],
    });
  }

  call(target: string, outcome: CallOutcome, seconds: number): void {
    this.calls.inc({ target, outcome });
    this.callDuration.observe({ target, outcome }, seconds);
  }

  handledMessage(pattern: string, outcome: 'ok' | 'error', seconds: number): void {
    this.handled.observe({ pattern, outcome }, seconds);
  }

  /** Sets the breaker and bulkhead gauges from the policies' status (on scrape). */
  targets(status: Record<string, TargetLoad>): void {
    for (const [target, load] of Object.entries(status)) {
      for (const state of BREAKER_STATES) this.breaker.set({ target, state }, state === load.state ? 1 : 0);
      this.executing.set({ target }, load.executing);
      this.queued.set({ target }, load.queued);
    }
  }
}
