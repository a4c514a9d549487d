// The benchmark's own databases: made and dropped by name, migrated by a ragnest process, their settings
// and the PostgreSQL settings that matter to a load.

import pg from 'pg';
import { ADMIN_DATABASE_URL, startProcess } from '../lib.mjs';

const PG_SETTINGS = [
  'shared_buffers',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'synchronous_commit',
  'fsync',
  'wal_level',
  'autovacuum',
];

export async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export const databases = new Set();

export async function createDatabase(tag) {
  const name = `ragnest_floor_${process.pid}_${tag}_${Date.now()}`;
  await withClient(ADMIN_DATABASE_URL, (c) => c.query(`CREATE DATABASE ${name}`));
  databases.add(name);
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

export async function dropDatabase(db) {
  await withClient(ADMIN_DATABASE_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`));
  databases.delete(db.name);
}

export async function pgSettings() {
  const { rows } = await withClient(ADMIN_DATABASE_URL, (c) =>
    c.query(`SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1) ORDER BY name`, [PG_SETTINGS]),
  );
  const version = await withClient(ADMIN_DATABASE_URL, (c) =>
    c.query(`SELECT current_setting('server_version') AS server, default_version AS vector
               FROM pg_available_extensions WHERE name = 'vector'`),
  );
  return {
    server: version.rows[0]?.server,
    pgvector: version.rows[0]?.vector,
    settings: Object.fromEntries(rows.map((r) => [r.name, `${r.setting}${r.unit ?? ''}`])),
  };
}

/** Runs ragnest's migrations on a database: one monolith started on it until ready, then stopped. */
export async function migrate(db) {
  const env = { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: db.url };
  delete env.REDIS_URL;
  const server = await startProcess('migrate', 'bin/ragnest.js', ['serve'], env, '/health/ready');
  await server.stop();
}
