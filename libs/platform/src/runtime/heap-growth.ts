import { setFlagsFromString } from 'node:v8';

/**
 * Bounds how far V8 lets the heap grow past what its last full collection found alive. V8 sizes that
 * growth for the machine, not for the service: on a 24 GiB host a server holding 60-90 MiB of live objects
 * let its old space grow to over 200 MiB while it indexed, and kept it. A growth factor of
 * 1 + percent/100 collects sooner and keeps the resident size near what is alive. The heap limit itself
 * is left alone, so a large upload never meets an out-of-memory crash it would not have met anyway.
 * 0 leaves V8's own heuristic. Read at every collection, so it holds from the next one on.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
