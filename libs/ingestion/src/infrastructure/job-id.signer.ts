import { Injectable } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { type DocumentJob, jobId, parseJobId } from '../domain/document-job.js';

const TAG_BYTES = 16;

/**
 * The job ids clients see: `<document>:<version>:<tag>`, the tag an HMAC of the first two under the
 * database's own random key (database_instance.job_id_key), so that no job id can be made up from
 * another; ids are still stable, so an upload sent again names the same job.
 */
@Injectable()
export class JobIdSigner {
  private key?: Promise<Buffer>;

  constructor(private readonly db: DataSource) {}

  async sign(job: DocumentJob): Promise<string> {
    return `${jobId(job)}:${(await this.tag(jobId(job))).toString('hex')}`;
  }

  /** The job an id names, or undefined when its tag is not this database's (or it has none). */
  async verify(id: string): Promise<DocumentJob | undefined> {
    const last = id.lastIndexOf(':');
    const first = id.indexOf(':');
    if (last === first) return undefined;
    const given = Buffer.from(id.slice(last + 1), 'hex');
    const expected = await this.tag(id.slice(0, last));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return parseJobId(id.slice(0, last));
  }

  private async tag(plain: string): Promise<Buffer> {
    this.key ??= this.db
      .query(`SELECT job_id_key FROM database_instance`)
      .then((rows: { job_id_key: Buffer }[]) => rows[0].job_id_key);
    this.key.catch(() => (this.key = undefined));
    return createHmac('sha256', await this.key)
      .update(plain)
      .digest()
      .subarray(0, TAG_BYTES);
  }
}
