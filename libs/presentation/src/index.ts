/** Presentation's public surface. Callers reach it through PRESENTATION_PORT. */
export { PresentationModule } from './presentation.module.js';
export { presentAnswer } from './domain/citations.js';
