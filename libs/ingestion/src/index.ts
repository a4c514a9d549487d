/** Ingestion's public surface: its module and the queue handle (to wait for ingestion to finish). */
export { IngestionModule } from './ingestion.module.js';
export { UploadStagingModule } from './upload-staging.module.js';
export { INGESTION_QUEUE, type IngestionQueue } from './application/ingestion-queue.port.js';
export { TITLE_WEIGHT } from './domain/indexed-terms.js';
