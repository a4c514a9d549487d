import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import { DataSource, MigrationExecutor } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { MIGRATIONS } from './migrations/index.js';
import { lockDataDir } from './data-dir.lock.js';
import { PgliteWorker } from './pglite-worker.js';
import { ScheduledPool } from './session-scheduler.js';

/**
 * One place decides where state lives: PostgreSQL + pgvector through a pooled `pg` driver when
 * DATABASE_URL is set, else an embedded PGlite (WASM Postgres with pgvector) under DATA_DIR, run in a
 * worker thread so its statements never block the event loop (PgliteWorker). Both are reached through
 * the same `pg` driver (PGlite speaks the wire protocol), so the same migrations and SQL run on both.
 */
export interface Database {
  dataSource: DataSource;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

const MIGRATION_LOCK = 7_341_001;

function sessionSettings(config: AppConfig): Record<string, string> {
  return {
    'hnsw.ef_search': String(config.retrieval.efSearch),
    // Iterative scans keep pulling from the HNSW graph until enough rows pass a filter (pgvector 0.8).
    'hnsw.iterative_scan': 'relaxed_order',
    // ragnest's statements are short, and JIT compiles whenever a plan's estimated cost is high, which
    // stale statistics in the middle of a bulk load make it: a 1 ms lookup by document spent 535 ms
    // compiling at 50k chunks.
    jit: 'off',
  };
}

/** The session settings as a libpq `options` string, as every pooled PostgreSQL connection gets them. */
export function postgresSessionOptions(config: AppConfig): string {
  return Object.entries(sessionSettings(config))
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
}

export async function openDatabase(config: AppConfig, logger = new Logger('Database')): Promise<Database> {
  const settings = sessionSettings(config);
  let dataSource: DataSource;
  let closeEmbedded: (() => Promise<void>) | undefined;
  let kind: Database['kind'];

  if (config.database.url) {
    kind = 'postgres';
    const options = postgresSessionOptions(config);
    dataSource = new DataSource({
      type: 'postgres',
      url: config.database.url,
      migrations: MIGRATIONS,
      migrationsTableName: 'ragnest_migrations',
      extra: { max: config.database.poolSize, options, connectionTimeoutMillis: 10_000 },
    });
  } else {
    kind = 'pglite';
    const dir = resolve(config.database.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    const lock = lockDataDir(resolve(config.database.dataDir));
    const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
    let pglite: PgliteWorker;
    try {
      pglite = await PgliteWorker.start(dir, [`shared_buffers=${config.database.pgliteSharedBuffersMb}MB`]);
    } catch (error) {
      lock.release();
      throw error;
    }
    closeEmbedded = () => pglite.close().finally(() => lock.release());
    const embedded = createPgConfig(pglite.asPglite());
    // PGlite is a single session: one pooled client, never closed while the process runs, handed to
    // requests' statements before background work's (ScheduledPool).
    dataSource = new DataSource({
      type: 'postgres',
      driver: { ...pg, Pool: ScheduledPool },
      host: embedded.host,
      port: embedded.port,
      username: embedded.user,
      password: embedded.password,
      database: embedded.database,
      migrations: MIGRATIONS,
      migrationsTableName: 'ragnest_migrations',
      extra: { connection: embedded.connection, max: 1, idleTimeoutMillis: 0 },
    });
  }

  try {
    await dataSource.initialize();
  } catch (error) {
    await closeEmbedded?.();
    throw new Error(
      `cannot connect to ${kind === 'postgres' ? 'PostgreSQL at DATABASE_URL' : 'embedded PGlite'}: ${(error as Error).message}`,
    );
  }
  if (kind === 'pglite') {
    for (const [k, v] of Object.entries(settings)) await dataSource.query(`SET ${k} = '${v}'`);
  }
  try {
    await migrate(dataSource, logger, config.database.migrate);
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    await closeEmbedded?.();
    throw error;
  }
  logger.log(
    kind === 'postgres'
      ? 'connected to PostgreSQL'
      : `embedded PGlite in ${resolve(config.database.dataDir, 'pglite')}`,
  );
  return {
    dataSource,
    kind,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await closeEmbedded?.();
    },
  };
}

/**
 * Runs pending migrations under an advisory lock, so replicas starting together migrate once. With
 * `apply` false (DATABASE_MIGRATE=false: a separate step migrates) it only checks that none is pending,
 * so a process never serves on a schema older than its code.
 */
async function migrate(dataSource: DataSource, logger: Logger, apply: boolean): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const available = await runner.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
    if (available.length === 0) {
      throw new Error(
        'the pgvector extension is not installed on this PostgreSQL server (https://github.com/pgvector/pgvector#installation)',
      );
    }
    if (!apply) {
      const pending = await new MigrationExecutor(dataSource, runner).getPendingMigrations();
      if (pending.length > 0) {
        throw new Error(
          `${pending.length} database migration(s) pending (${pending.map((m) => m.name).join(', ')}) and ` +
            'DATABASE_MIGRATE=false: run `ragnest migrate` (the Helm chart runs it as a hook Job) first',
        );
      }
      return;
    }
    await runner.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      // The executor runs on the runner that holds the lock: a pool of one (PGlite) cannot lend a second.
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      const applied = await executor.executePendingMigrations();
      for (const m of applied) logger.log(`migrated: ${m.name}`);
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  } finally {
    await runner.release();
  }
}
