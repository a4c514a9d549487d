import { Controller, Get, Inject, Param } from '@nestjs/common';
import { INGESTION_PORT, type IngestionPort, type JobView } from '#contracts';
import { jobIdParam } from './params.js';

/** Ingestion jobs by the id an upload or a retry returned: where that document version stands. */
@Controller('rag/jobs')
export class JobsHttpController {
  constructor(@Inject(INGESTION_PORT) private readonly ingestion: IngestionPort) {}

  @Get(':jobId')
  getJob(@Param('jobId', jobIdParam) jobId: string): Promise<JobView> {
    return this.ingestion.getJob({ jobId });
  }
}
