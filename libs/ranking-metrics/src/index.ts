/**
 * Ranking metrics (nDCG, recall, MRR) as BEIR computes them: plain TypeScript with no import at all, so
 * the CLI's `eval` and the browser playground's evaluation score a ranking with the same formulas.
 */
export * from './metrics.js';
