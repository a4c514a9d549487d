/** Generation's public surface. Callers reach it through GENERATION_PORT. */
export { GenerationModule, createGenerator } from './generation.module.js';
export { ExtractiveGenerator } from './domain/extractive.generator.js';
export {
  GENERATOR,
  GenerationError,
  NO_SOURCES_ANSWER,
  UNANSWERABLE_ANSWER,
  type GenerationFailure,
  type Generator,
} from './domain/generator.js';
