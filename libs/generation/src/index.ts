/** Generation's public surface: its module. Callers reach it through GENERATION_PORT. */
export { GenerationModule } from './generation.module.js';
