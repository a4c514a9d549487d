import { Global, Module } from '@nestjs/common';
import { UPLOAD_STAGING } from '#contracts';
import { DatabaseModule } from '#platform';
import { UploadPartsRepository } from './infrastructure/uploads/upload-parts.repository.js';

/**
 * Ingestion's upload staging (UPLOAD_STAGING), for a process that receives uploads: the gateway streams a
 * file into ingestion's store through it, wherever ingestion itself runs (they share the database, not the
 * file system). Global, so the gateway's controllers can inject the port without importing ingestion.
 */
@Global()
@Module({
  imports: [DatabaseModule],
  providers: [UploadPartsRepository, { provide: UPLOAD_STAGING, useExisting: UploadPartsRepository }],
  exports: [UPLOAD_STAGING],
})
export class UploadStagingModule {}
