import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ContextName } from '#contracts';
import { freePort } from './free-port.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface ServiceProcess {
  name: string;
  context: ContextName;
  port: number;
  child: ChildProcess;
  output: string[];
}

/**
 * A distributed deployment as separate OS processes, one per context (two retrieval replicas by default),
 * from the built apps (`npm run build`), on a fresh database and its own Redis key prefix.
 */
export class DistributedDeployment {
  readonly services = new Map<string, ServiceProcess>();
  baseUrl = '';

  private constructor(
    readonly env: Record<string, string>,
    private readonly db: TestDatabase,
  ) {}

  static async start(
    options: {
      retrievalReplicas?: number;
      /** Replicas of every context behind the gateway (retrievalReplicas still wins for retrieval). */
      replicasPerContext?: number;
      env?: Record<string, string>;
    } = {},
  ): Promise<DistributedDeployment> {
    const d = await DistributedDeployment.prepare(options.env);
    try {
      // Stateful contexts first, so migrations run once before the others connect.
      await d.startService('ingestion', ContextName.Ingestion);
      const perContext = options.replicasPerContext ?? 1;
      const others: [string, ContextName][] = [];
      for (let i = 2; i <= perContext; i++) others.push([`ingestion-${i}`, ContextName.Ingestion]);
      for (const [name, context] of [
        ['query-understanding', ContextName.QueryUnderstanding],
        ['generation', ContextName.Generation],
        ['presentation', ContextName.Presentation],
      ] as const) {
        others.push([name, context]);
        for (let i = 2; i <= perContext; i++) others.push([`${name}-${i}`, context]);
      }
      for (let i = 1; i <= (options.retrievalReplicas ?? Math.max(2, perContext)); i++)
        others.push([`retrieval-${i}`, ContextName.Retrieval]);
      await Promise.all(others.map(([name, context]) => d.startService(name, context)));
      const gateway = await d.startService('gateway', ContextName.Gateway);
      d.baseUrl = `http://127.0.0.1:${gateway.port}`;
      await d.waitReady(d.baseUrl);
      return d;
    } catch (error) {
      await d.close();
      throw error;
    }
  }

  /**
   * Every process spawned at the same moment, as a compose file or a rollout starts them, without
   * waiting for any: the caller watches the gateway (at `baseUrl`) come up.
   */
  static async launchTogether(
    options: { env?: Record<string, string> } = {},
  ): Promise<DistributedDeployment> {
    const d = await DistributedDeployment.prepare(options.env);
    const all: [string, ContextName][] = [
      ['gateway', ContextName.Gateway],
      ['ingestion', ContextName.Ingestion],
      ['query-understanding', ContextName.QueryUnderstanding],
      ['generation', ContextName.Generation],
      ['presentation', ContextName.Presentation],
      ['retrieval-1', ContextName.Retrieval],
      ['retrieval-2', ContextName.Retrieval],
    ];
    const ports: number[] = [];
    for (let i = 0; i < all.length; i++) ports.push(await freePort());
    all.forEach(([name, context], i) => d.spawn(name, context, ports[i]));
    d.baseUrl = `http://127.0.0.1:${d.services.get('gateway')!.port}`;
    return d;
  }

  private static async prepare(extra: Record<string, string> = {}): Promise<DistributedDeployment> {
    const entry = join(ROOT, 'dist/apps/gateway/main.js');
    if (!existsSync(entry))
      throw new Error('the distributed tests run the built apps: run `npm run build` first');
    const db = await createTestDatabase();
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: `ragnest-e2e-${randomBytes(4).toString('hex')}`,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // No load balancer watches these processes' readiness: stopping need not wait for one to notice.
      SHUTDOWN_READINESS_DELAY_MS: '0',
      ...extra,
    };
    return new DistributedDeployment(env, db);
  }

  async startService(name: string, context: ContextName): Promise<ServiceProcess> {
    const service = this.spawn(name, context, await freePort());
    await this.waitLive(service);
    return service;
  }

  /** Starts a service's process without waiting for it. */
  spawn(name: string, context: ContextName, port: number): ServiceProcess {
    const child = spawn(process.execPath, [join(ROOT, `dist/apps/${context}/main.js`)], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service: ServiceProcess = { name, context, port, child, output: [] };
    const keep = (chunk: Buffer) => {
      service.output.push(chunk.toString());
      if (service.output.length > 200) service.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.services.set(name, service);
    return service;
  }

  /** Kills a service (SIGKILL by default) and waits for it to be gone. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const service = this.services.get(name);
    if (!service) return;
    this.services.delete(name);
    if (service.child.exitCode !== null || service.child.signalCode !== null) return;
    await new Promise<void>((done) => {
      service.child.once('exit', () => done());
      service.child.kill(signal);
    });
  }

  /** Requests this service's replica has run over the transport, per pattern (from its /health/live). */
  async handled(name: string): Promise<Record<string, number>> {
    const service = this.services.get(name)!;
    const res = await fetch(`http://127.0.0.1:${service.port}/health/live`);
    const body = (await res.json()) as {
      info: { transport: { replicas: Record<string, Record<string, number>> } };
    };
    return Object.assign({}, ...Object.values(body.info.transport.replicas));
  }

  async close(): Promise<void> {
    await Promise.all([...this.services.keys()].map((name) => this.kill(name, 'SIGTERM')));
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const keys = await redis.keys(`${this.env.REDIS_PREFIX}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } catch {
      // Redis being down must not hide the test's own result.
    } finally {
      redis.disconnect();
    }
    await this.db.drop();
  }

  private async waitLive(service: ServiceProcess, timeoutMs = 120_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (service.child.exitCode !== null) {
        throw new Error(`${service.name} exited with ${service.child.exitCode}:\n${service.output.join('')}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${service.port}/health/live`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `${service.name} did not become live within ${timeoutMs} ms:\n${service.output.join('')}`,
    );
  }

  async waitReady(baseUrl = this.baseUrl, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      try {
        const res = await fetch(`${baseUrl}/health/ready`);
        last = await res.text();
        if (res.ok) return;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // What each process said last: a context the gateway never saw is found by its own output.
    const outputs = [...this.services.values()].map(
      (s) =>
        `--- ${s.name} (exit ${s.child.exitCode ?? s.child.signalCode ?? 'none yet'}):\n${s.output.join('').slice(-2_000)}`,
    );
    throw new Error(`gateway not ready within ${timeoutMs} ms: ${last}\n${outputs.join('\n')}`);
  }
}
