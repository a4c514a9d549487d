/**
 * A context's own detail for /health/ready, found by this token wherever the context's module provides
 * it (the health controller lives in platform and imports no context). A report never makes readiness
 * fail: it says what an operator should know, and the context decides what goes in it.
 */
export interface ReadinessReport {
  /** The indicator's name in the Terminus answer. */
  readonly name: string;
  report(): Promise<Record<string, unknown>>;
}
export const READINESS_REPORT = Symbol('ReadinessReport');
