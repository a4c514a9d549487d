import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Scope } from '#contracts';

export interface StoredKey {
  id: string;
  name: string;
  secretHash: Buffer;
  scopes: Scope[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The api_keys table (migration 1732620000000), which the gateway owns. */
@Injectable()
export class ApiKeyRepository {
  constructor(private readonly db: DataSource) {}

  async insert(key: { id: string; name: string; secretHash: Buffer; scopes: readonly Scope[] }) {
    const rows = await this.db.query(
      `INSERT INTO api_keys (id, name, secret_hash, scopes) VALUES ($1, $2, $3, $4::text[]) RETURNING *`,
      [key.id, key.name, key.secretHash, key.scopes],
    );
    return toKey(rows[0]);
  }

  async find(id: string): Promise<StoredKey | undefined> {
    const rows = await this.db.query(`SELECT * FROM api_keys WHERE id = $1`, [id]);
    return rows.length === 0 ? undefined : toKey(rows[0]);
  }

  /** Every key, newest first; the caller decides what of it to show (never the hash). */
  async list(): Promise<StoredKey[]> {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT * FROM api_keys ORDER BY created_at DESC, id`,
    );
    return rows.map(toKey);
  }

  /** Revokes a live key; a revoked key keeps its first revocation time. Undefined when no such key. */
  async revoke(id: string): Promise<StoredKey | undefined> {
    const rows = await this.db.query(
      // Wrapped in a SELECT: TypeORM hands back an UPDATE's rows as [rows, count].
      `WITH r AS (UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *)
       SELECT * FROM r`,
      [id],
    );
    return rows.length === 0 ? undefined : toKey(rows[0]);
  }

  async anyLive(): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL) AS live`,
    );
    return rows[0].live === true;
  }

  /** Records a use, unless one was recorded in the last `everyMs` (by any gateway). */
  async touch(id: string, everyMs: number): Promise<void> {
    await this.db.query(
      `UPDATE api_keys SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2::float8 / 1000))`,
      [id, everyMs],
    );
  }
}

function iso(v: unknown): string | null {
  return v == null ? null : new Date(v as string).toISOString();
}

function toKey(r: Record<string, unknown>): StoredKey {
  return {
    id: r.id as string,
    name: r.name as string,
    secretHash: r.secret_hash as Buffer,
    scopes: r.scopes as Scope[],
    createdAt: iso(r.created_at)!,
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
  };
}
