import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { type AppConfig, loadConfig } from '#platform';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export type DatabaseKind = 'postgres' | 'pglite';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * A whole ragnest process for a test: a real HTTP server on a free port, on a fresh PostgreSQL
 * database or a fresh embedded PGlite directory (or the one `env` names). `env` overrides configuration
 * as the environment would.
 */
export async function startTestApp(
  create: (config: AppConfig) => Promise<INestApplication>,
  kind: DatabaseKind,
  env: Record<string, string> = {},
): Promise<TestApp> {
  let db: TestDatabase | undefined;
  let dataDir: string | undefined;
  const vars: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error', ...env };
  // A database given in `env` is the caller's (a restart on the same data): it is neither made nor dropped.
  if (kind === 'postgres' && !env.DATABASE_URL) {
    db = await createTestDatabase();
    vars.DATABASE_URL = db.url;
  } else if (kind === 'pglite' && !env.DATA_DIR) {
    dataDir = mkdtempSync(join(tmpdir(), 'ragnest-pglite-'));
    vars.DATA_DIR = dataDir;
  }
  const config = loadConfig(vars);
  const app = await create(config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await db?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type DeploymentKind = DatabaseKind | 'distributed';

export interface Deployment {
  kind: DeploymentKind;
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The same API, deployed three ways: one process on PostgreSQL, one process on PGlite, or one process
 * per context over Redis (from the built apps).
 */
export async function deploy(
  kind: DeploymentKind,
  create: (config: AppConfig) => Promise<INestApplication>,
  env: Record<string, string> = {},
): Promise<Deployment> {
  if (kind === 'distributed') {
    const { DistributedDeployment } = await import('./distributed-deployment.js');
    const d = await DistributedDeployment.start({ env });
    return { kind, baseUrl: d.baseUrl, close: () => d.close() };
  }
  const t = await startTestApp(create, kind, env);
  return { kind, baseUrl: t.baseUrl, close: () => t.close() };
}
