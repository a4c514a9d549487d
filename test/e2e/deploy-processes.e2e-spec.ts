import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, eventually, freePort, http, TEST_REDIS_URL, type TestDatabase } from '#testing';
import { byKind, type Manifest, readCompose, render, ROOT, secretArgs } from '../deploy/manifests.js';

/**
 * The split deployment started exactly as the Helm chart and the compose file configure it: each
 * Deployment's (each compose service's) command and environment (ConfigMap, Secret, env), migrations
 * first as the hook Job (the migrate service) runs them, as OS processes from the built apps, then probed
 * on the chart's probe paths and used end to end. Only what a container gets from its platform differs:
 * the port (each process its own, as each pod has its own address), and the database and Redis, which are
 * the test's (passed as the secrets are).
 */
interface ProcessSpec {
  name: string;
  command: string[];
  env: Record<string, string>;
  live: string;
  ready: string;
  replicas: number;
}

const DOCUMENTS = [
  { id: 'a1', title: 'Aspirin', text: 'Low-dose aspirin reduces the risk of a first stroke in women.' },
  { id: 'c1', title: 'Coffee', text: 'Coffee drinking is associated with a lower risk of liver cirrhosis.' },
];

function decode(secret: Manifest): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()]),
  );
}

/** A container's environment as the kubelet builds it: envFrom in order, then env. */
function containerEnv(container: any, manifests: Manifest[]): Record<string, string> {
  const configMaps = new Map(byKind(manifests, 'ConfigMap').map((c) => [c.metadata.name, c.data]));
  const secrets = new Map(byKind(manifests, 'Secret').map((s) => [s.metadata.name, decode(s)]));
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const source = from.configMapRef
      ? configMaps.get(from.configMapRef.name)
      : secrets.get(from.secretRef.name);
    if (!source) throw new Error(`${container.name}: envFrom names a missing object`);
    Object.assign(env, source);
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    env[e.name] = ref ? secrets.get(ref.name)![ref.key] : String(e.value);
  }
  return env;
}

function chartProcesses(manifests: Manifest[]): { migrate: ProcessSpec; services: ProcessSpec[] } {
  const [job] = byKind(manifests, 'Job');
  const jobContainer = job.spec.template.spec.containers[0];
  const migrate = {
    name: 'migrate',
    command: jobContainer.command,
    env: containerEnv(jobContainer, manifests),
    live: '',
    ready: '',
    replicas: 1,
  };
  const services = byKind(manifests, 'Deployment').map((d) => {
    const c = d.spec.template.spec.containers[0];
    return {
      name: d.metadata.labels!['app.kubernetes.io/component'],
      command: c.command,
      env: containerEnv(c, manifests),
      live: c.livenessProbe.httpGet.path,
      ready: c.readinessProbe.httpGet.path,
      replicas: d.spec.replicas ?? 1,
    };
  });
  return { migrate, services };
}

function composeProcesses(state: Record<string, string>): { migrate: ProcessSpec; services: ProcessSpec[] } {
  const compose = readCompose();
  const spec = (name: string): ProcessSpec => {
    const s = compose.services[name];
    return {
      name,
      command: s.command,
      // The compose file's own hosts (postgres, redis) are the test's here.
      env: { ...Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, String(v)])), ...state },
      live: '/health/live',
      ready: '/health/ready',
      replicas: s.deploy?.replicas ?? 1,
    };
  };
  const names = Object.keys(compose.services).filter(
    (n) =>
      compose.services[n].image?.startsWith('ragnest:') && !compose.services[n].profiles && n !== 'migrate',
  );
  return { migrate: spec('migrate'), services: names.map(spec) };
}

class Processes {
  readonly running: {
    name: string;
    port: number;
    child: ChildProcess;
    output: string[];
    spec: ProcessSpec;
  }[] = [];

  async start(spec: ProcessSpec, replica: number): Promise<void> {
    const port = await freePort();
    const [program, ...args] = spec.command;
    expect(program).toBe('node');
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      // Only the container's environment (and PATH): nothing of this test process leaks in.
      env: { PATH: process.env.PATH ?? '', ...spec.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
    this.running.push({ name: `${spec.name}-${replica}`, port, child, output, spec });
  }

  async waitFor(path: 'live' | 'ready', timeoutMs = 60_000): Promise<void> {
    await Promise.all(
      this.running.map(async (p) => {
        const until = Date.now() + timeoutMs;
        let last = '';
        while (Date.now() < until) {
          if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.output.join('')}`);
          try {
            const res = await fetch(`http://127.0.0.1:${p.port}${p.spec[path]}`);
            if (res.ok) return;
            last = await res.text();
          } catch (error) {
            last = (error as Error).message;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`${p.name}: ${p.spec[path]} not OK within ${timeoutMs} ms: ${last}`);
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.running.map(
        (p) =>
          new Promise<void>((done) => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return done();
            p.child.once('exit', () => done());
            p.child.kill('SIGTERM');
          }),
      ),
    );
  }
}

function run(spec: ProcessSpec): { status: number | null; output: string } {
  const [, ...args] = spec.command;
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...spec.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, output: r.stdout + r.stderr };
}

async function endToEnd(baseUrl: string): Promise<void> {
  const ingest = await http(baseUrl, 'POST', '/rag/collections/deploy/documents', { documents: DOCUMENTS });
  expect(ingest.status).toBe(202);
  await eventually(async () => {
    const view = await http(baseUrl, 'GET', '/rag/collections/deploy');
    return view.body.documents?.indexed === DOCUMENTS.length;
  });
  const search = await http(baseUrl, 'POST', '/rag/search', {
    collection: 'deploy',
    query: 'stroke prevention',
    mode: 'hybrid',
    topK: 1,
  });
  expect(search.status).toBe(200);
  expect(search.body.results[0].documentId).toBe('a1');
  const query = await http(baseUrl, 'POST', '/rag/query', { collection: 'deploy', query: 'liver cirrhosis' });
  expect(query.status).toBe(200);
  expect(query.body.citations.map((c: { documentId: string }) => c.documentId)).toContain('c1');
}

describe.each(['chart', 'compose'] as const)('the split deployment as the %s configures it', (source) => {
  let db: TestDatabase;
  let prefix: string;
  const processes = new Processes();
  let specs: { migrate: ProcessSpec; services: ProcessSpec[] };

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/apps/gateway/main.js')))
      throw new Error('these tests run the built apps: run `npm run build` first');
    db = await createTestDatabase();
    prefix = `ragnest-deploy-${randomBytes(4).toString('hex')}`;
    const state = { DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix };
    if (source === 'chart') {
      const manifests = render([
        ...secretArgs({ DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL }),
        '--set-string',
        `config.REDIS_PREFIX=${prefix}`,
        '--set',
        'config.LOG_LEVEL=warn',
        // No load balancer watches these processes: stopping need not wait for one to notice.
        '--set',
        'shutdown.readinessDelayMs=0',
      ]);
      specs = chartProcesses(manifests);
    } else {
      specs = composeProcesses({ ...state, LOG_LEVEL: 'warn', SHUTDOWN_READINESS_DELAY_MS: '0' });
    }
  });

  afterAll(async () => {
    await processes.stop();
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await db?.drop();
  });

  it('refuses to serve before migrating, migrates once, then serves end to end', async () => {
    const retrieval = specs.services.find((s) => s.name === 'retrieval')!;
    expect(retrieval.env.DATABASE_MIGRATE).toBe('false');
    // A replica started before the migration step refuses the old schema rather than migrating itself.
    const early = run({ ...retrieval, env: retrieval.env });
    expect(early.status).not.toBe(0);
    expect(early.output).toMatch(/migration\(s\) pending .* DATABASE_MIGRATE=false/);

    const migrated = run(specs.migrate);
    expect(migrated.status, migrated.output).toBe(0);

    expect(specs.services.map((s) => s.name).sort()).toEqual(
      ['gateway', 'generation', 'ingestion', 'presentation', 'query-understanding', 'retrieval'].sort(),
    );
    for (const spec of specs.services)
      for (let replica = 1; replica <= Math.min(spec.replicas, spec.name === 'retrieval' ? 2 : 1); replica++)
        await processes.start(spec, replica);
    expect(processes.running.filter((p) => p.spec.name === 'retrieval')).toHaveLength(2);
    await processes.waitFor('live');
    await processes.waitFor('ready');

    const gateway = processes.running.find((p) => p.spec.name === 'gateway')!;
    await endToEnd(`http://127.0.0.1:${gateway.port}`);
  });
});
