/** Generation's public surface. Callers reach it through GENERATION_PORT. */
export { GenerationModule } from './generation.module.js';
export { ExtractiveGenerator } from './domain/extractive.generator.js';
