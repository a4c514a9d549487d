import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { UploadPartsRepository } from './upload-parts.repository.js';

/** A staged file no version points at is kept this long, for its ingest call to arrive. */
const ORPHAN_AFTER_MS = 60 * 60 * 1000;

/**
 * Removes staged uploads that nothing will read (see UploadPartsRepository.sweepOrphans): at start, then
 * every hour, in every process that hosts ingestion.
 */
@Injectable()
export class StagedUploadSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StagedUploadSweeper.name);
  private timer?: NodeJS.Timeout;

  constructor(private readonly parts: UploadPartsRepository) {}

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), ORPHAN_AFTER_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async sweep(): Promise<void> {
    try {
      const removed = await this.parts.sweepOrphans(ORPHAN_AFTER_MS);
      if (removed > 0) this.logger.log(`removed ${removed} staged uploads that no document uses`);
    } catch (error) {
      this.logger.warn(`could not sweep staged uploads: ${(error as Error).message}`);
    }
  }
}
