import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys (issue 21), owned by the gateway. A key is `rn_<id>_<secret>`: `id` is its public half, the
 * primary key a request's key is looked up by; only the SHA-256 of the secret is kept (`secret_hash`),
 * never the secret. A revoked key keeps its row (`revoked_at`) so the list shows what was revoked and when.
 * `last_used_at` is written at most every few seconds per key and process, not per request.
 *
 * `database_instance.job_id_key` is a random key that signs the job ids ingestion hands out
 * (`<document>:<version>:<tag>`), so that a job id cannot be guessed from another (issue 21). It is drawn
 * from gen_random_uuid (a strong random source) since pgcrypto's gen_random_bytes may not be installed.
 */
export class ApiKeys1732620000000 implements MigrationInterface {
  name = 'ApiKeys1732620000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        secret_hash bytea NOT NULL,
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(
      `ALTER TABLE database_instance ADD COLUMN job_id_key bytea NOT NULL
         DEFAULT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())`,
    );
    // Whether any key is live decides between protected mode and key checks, on every gateway.
    await q.query(`CREATE INDEX api_keys_live_idx ON api_keys (id) WHERE revoked_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS api_keys`);
    await q.query(`ALTER TABLE database_instance DROP COLUMN IF EXISTS job_id_key`);
  }
}
