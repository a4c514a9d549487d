import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/**
 * The chart and the compose file as data, for the deploy checks: the chart rendered by a real Helm 3
 * (scripts/helm.mjs, unpacked from an npm devDependency), the compose file parsed.
 */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART = join(ROOT, 'charts/ragnest');
export const COMPOSE = join(ROOT, 'docker/compose.yaml');

/** Secrets as a test passes them, never in values.yaml: Helm gets them with --set-string. */
export const TEST_SECRETS = {
  DATABASE_URL: 'postgres://ragnest:example@postgres.example:5432/ragnest',
  REDIS_URL: 'redis://redis.example:6379',
};

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

export function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/helm.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Helm arguments that set each secret key as a string. */
export function secretArgs(secrets: Record<string, string> = TEST_SECRETS): string[] {
  return Object.entries(secrets).flatMap(([k, v]) => ['--set-string', `secret.data.${k}=${v}`]);
}

/** `helm template` of the chart with these arguments; throws with Helm's message when it refuses. */
export function render(args: string[], release = 'rn'): Manifest[] {
  const r = helm(['template', release, CHART, '--namespace', 'ragnest', ...args]);
  if (r.status !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

export function byKind(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

export function readCompose(): any {
  return parse(readFileSync(COMPOSE, 'utf8'), { merge: true });
}

/** The values files the checks render: name → Helm arguments. */
export const VALUE_SETS: Record<string, string[]> = {
  default: secretArgs(),
  monolith: ['--set', 'mode=monolith', ...secretArgs()],
  production: ['-f', join(CHART, 'ci/production-values.yaml')],
  'in-cluster': ['--set', 'postgresql.enabled=true', '--set', 'redis.enabled=true'],
};
