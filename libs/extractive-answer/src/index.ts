/**
 * The model-free answer, a shared kernel: generation serves it as its `extractive` provider, and the
 * gateway falls back to it when generation cannot be reached, so that fallback needs no other context.
 */
export { ExtractiveGenerator, type ExtractiveGeneratorOptions } from './extractive.generator.js';
