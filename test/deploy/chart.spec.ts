import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  byKind,
  CHART,
  helm,
  type Manifest,
  render,
  ROOT,
  secretArgs,
  TEST_SECRETS,
  VALUE_SETS,
} from './manifests.js';
import {
  networkPolicyViolations,
  pdbViolations,
  probeViolations,
  securityViolations,
  shutdownViolations,
  tmpViolations,
} from './policy.js';

/**
 * The Helm chart, checked with no cluster: `helm lint` and `helm template` (a real Helm 3), every
 * rendered object validated against the Kubernetes schemas (kubernetes-models, API 1.30+; KEDA and the
 * Prometheus Operator from their own packages), and the deployment policies as code.
 */
const CONTEXTS = ['gateway', 'ingestion', 'query-understanding', 'retrieval', 'generation', 'presentation'];
const CRD_PACKAGES: Record<string, string> = {
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

async function validate(m: Manifest): Promise<void> {
  const [group, version] = m.apiVersion.includes('/') ? m.apiVersion.split('/') : ['', m.apiVersion];
  const path = group
    ? `${CRD_PACKAGES[group] ?? 'kubernetes-models'}/${group}/${version}/${m.kind}`
    : `kubernetes-models/${version}/${m.kind}`;
  const module = await import(path).catch(() => {
    throw new Error(`no schema for ${m.apiVersion} ${m.kind} (${path})`);
  });
  new module[m.kind](m).validate();
}

const rendered = Object.fromEntries(Object.entries(VALUE_SETS).map(([name, args]) => [name, render(args)]));

describe('helm chart', () => {
  it.each(Object.entries(VALUE_SETS))('passes helm lint with the %s values', (_name, args) => {
    const r = helm(['lint', '--strict', CHART, ...args]);
    expect(r.stderr + r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.status).toBe(0);
  });

  it.each(Object.keys(VALUE_SETS))(
    'renders %s values that are valid Kubernetes 1.30+ objects',
    async (name) => {
      const manifests = rendered[name];
      expect(manifests.length).toBeGreaterThan(5);
      for (const m of manifests) {
        await expect(validate(m), `${m.kind}/${m.metadata.name}`).resolves.toBeUndefined();
      }
    },
  );

  it.each(Object.keys(VALUE_SETS))('meets the deployment policies with the %s values', (name) => {
    const manifests = rendered[name];
    const config = byKind(manifests, 'ConfigMap')[0].data;
    expect([
      ...securityViolations(manifests),
      ...probeViolations(manifests),
      ...pdbViolations(manifests),
      ...shutdownViolations(manifests, Number(config.SHUTDOWN_GRACE_MS)),
      ...tmpViolations(manifests),
      ...networkPolicyViolations(manifests),
    ]).toEqual([]);
  });

  it('catches a manifest with a hole in it', () => {
    const manifests: Manifest[] = structuredClone(rendered.default);
    const deployment = byKind(manifests, 'Deployment')[0];
    const container = deployment.spec.template.spec.containers[0];
    delete container.readinessProbe;
    delete container.resources.requests;
    container.securityContext.readOnlyRootFilesystem = false;
    container.securityContext.capabilities.drop = [];
    delete deployment.spec.template.spec.securityContext.seccompProfile;
    delete container.securityContext.seccompProfile;
    deployment.spec.template.spec.terminationGracePeriodSeconds = 10;
    const withoutPdb = manifests.filter(
      (m) => !(m.kind === 'PodDisruptionBudget' && m.metadata.name === deployment.metadata.name),
    );
    const at = `Deployment/${deployment.metadata.name}`;
    expect(probeViolations(manifests)).toEqual([
      `${at} container ${container.name}: no readinessProbe`,
      expect.any(String),
    ]);
    expect(securityViolations(manifests)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('no cpu and memory requests'),
        expect.stringContaining('readOnlyRootFilesystem'),
        expect.stringContaining('drop ALL'),
        expect.stringContaining('RuntimeDefault'),
      ]),
    );
    expect(pdbViolations(withoutPdb)).toEqual([`${at}: no PodDisruptionBudget selects its pods`]);
    expect(shutdownViolations(manifests, 30_000)).toEqual([expect.stringContaining(at)]);
  });

  it('deploys one Deployment per context, each running its own app, or one for all in monolith mode', () => {
    const split = byKind(rendered.default, 'Deployment');
    expect(split.map((d) => d.metadata.labels!['app.kubernetes.io/component']).sort()).toEqual(
      [...CONTEXTS].sort(),
    );
    for (const d of split) {
      const context = d.metadata.labels!['app.kubernetes.io/component'];
      const c = d.spec.template.spec.containers[0];
      expect(c.command).toEqual(['node', `dist/apps/${context}/main.js`]);
      expect(c.env).toContainEqual({ name: 'RAG_CONTEXTS', value: context });
    }
    const [mono] = byKind(rendered.monolith, 'Deployment');
    expect(byKind(rendered.monolith, 'Deployment')).toHaveLength(1);
    expect(mono.spec.template.spec.containers[0].env).toContainEqual({ name: 'RAG_CONTEXTS', value: 'all' });
  });

  it('migrates in a pre-install/pre-upgrade hook Job, and the serving pods do not', () => {
    for (const name of ['default', 'monolith', 'production']) {
      const [job] = byKind(rendered[name], 'Job');
      expect(job.metadata.annotations!['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'bin/ragnest.js', 'migrate']);
      expect(byKind(rendered[name], 'ConfigMap')[0].data.DATABASE_MIGRATE).toBe('false');
      // Hooks run before the release's resources exist: what the Job reads must exist by then too.
      const secretRef = job.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name;
      const hookSecret = byKind(rendered[name], 'Secret').find((s) => s.metadata.name === secretRef);
      if (name === 'production') expect(secretRef).toBe('ragnest-credentials');
      else expect(hookSecret?.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      expect(job.spec.template.spec.serviceAccountName).toBeUndefined();
    }
    // The in-cluster PostgreSQL does not exist at pre-install: there each process migrates under a lock.
    expect(byKind(rendered['in-cluster'], 'Job')).toEqual([]);
    expect(byKind(rendered['in-cluster'], 'ConfigMap')[0].data.DATABASE_MIGRATE).toBe('true');
  });

  it('keeps secrets out of values.yaml and the ConfigMap', () => {
    const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    expect(values).not.toMatch(/postgres(ql)?:\/\/[^\s"']*@|redis:\/\/[^\s"']*@|sk-[A-Za-z0-9]/);
    for (const manifests of Object.values(rendered)) {
      const data = byKind(manifests, 'ConfigMap')[0].data;
      for (const key of ['DATABASE_URL', 'REDIS_URL', 'LLM_API_KEY', 'EMBEDDINGS_API_KEY', 'RERANK_API_KEY'])
        expect(data).not.toHaveProperty(key);
    }
    expect(byKind(rendered.production, 'Secret')).toEqual([]);
    const r = helm(['template', 'rn', CHART]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no DATABASE_URL: set secret.existingSecret/);
  });

  it('scales the query path on CPU and ingestion on its BullMQ wait list with KEDA', () => {
    const hpas = byKind(rendered.production, 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec.scaleTargetRef.name).sort()).toEqual(
      ['gateway', 'generation', 'presentation', 'query-understanding', 'retrieval'].map(
        (c) => `rn-ragnest-${c}`,
      ),
    );
    for (const h of hpas) expect(h.spec.metrics[0].resource.name).toBe('cpu');
    const [scaled] = byKind(rendered.production, 'ScaledObject');
    expect(scaled.spec.scaleTargetRef.name).toBe('rn-ragnest-ingestion');
    expect(scaled.spec.triggers[0]).toMatchObject({
      type: 'redis',
      metadata: { listName: 'ragnest-prod:ingestion:wait', address: 'redis.data.svc:6379' },
    });
    // A Deployment under an autoscaler leaves replicas to it, or every upgrade would reset them.
    for (const d of byKind(rendered.production, 'Deployment')) expect(d.spec.replicas).toBeUndefined();
  });

  it('lets each context reach only what it calls', () => {
    const egressPorts = (component: string) =>
      byKind(rendered.production, 'NetworkPolicy')
        .find((p) => p.metadata.name === `rn-ragnest-${component}`)!
        .spec.egress.flatMap((e: any) => e.ports.map((p: any) => p.port))
        .filter((p: number) => p !== 53)
        .sort();
    // The gateway reads the API keys (issue 21).
    expect(egressPorts('gateway')).toEqual([5432, 6379]);
    expect(egressPorts('presentation')).toEqual([6379]);
    expect(egressPorts('generation')).toEqual([443, 6379, 8080]);
    expect(egressPorts('retrieval')).toEqual([443, 5432, 6379, 8080]);
    expect(egressPorts('migrate')).toEqual([5432]);
  });

  it('scrapes /metrics of every context with a ServiceMonitor when enabled, and none by default', () => {
    expect(byKind(rendered.default, 'ServiceMonitor')).toEqual([]);
    const manifests = rendered.production;
    const [monitor] = byKind(manifests, 'ServiceMonitor');
    expect(monitor.spec.endpoints).toEqual([
      expect.objectContaining({ port: 'http', path: '/metrics', relabelings: expect.any(Array) }),
    ]);
    // The Service it selects takes in the pods of every context, not just the gateway's.
    const services = byKind(manifests, 'Service').filter((s) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
    );
    expect(services).toHaveLength(1);
    const selector = services[0].spec.selector;
    const deployments = byKind(manifests, 'Deployment');
    expect(deployments).toHaveLength(CONTEXTS.length);
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels;
      expect(
        Object.entries(selector).every(([k, v]) => labels[k] === v),
        d.metadata.name,
      ).toBe(true);
      expect(d.spec.template.spec.containers[0].ports).toContainEqual(
        expect.objectContaining({ name: 'http' }),
      );
    }
    // Each context's NetworkPolicy lets the scraper in on the http port.
    const scrapeFrom = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    };
    for (const policy of byKind(manifests, 'NetworkPolicy').filter(
      (p) => !p.metadata.name.endsWith('migrate'),
    ))
      expect(policy.spec.ingress, policy.metadata.name).toContainEqual({
        ports: [{ port: 'http', protocol: 'TCP' }],
        from: [scrapeFrom],
      });
  });

  it('has a values schema that refuses an unknown mode and a secret in config', () => {
    expect(helm(['template', 'rn', CHART, '--set', 'mode=both', ...secretArgs()]).stderr).toMatch(/mode/);
    const r = helm([
      'template',
      'rn',
      CHART,
      '--set-string',
      `config.DATABASE_URL=${TEST_SECRETS.DATABASE_URL}`,
    ]);
    expect(r.status).not.toBe(0);
  });

  it('has a README whose values table is current (node scripts/chart-readme.mjs)', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/chart-readme.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
