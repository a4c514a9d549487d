import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { EnvSchema } from '../../libs/platform/src/config/env-schema.js';
import { byKind, CHART, readCompose, render, ROOT, VALUE_SETS } from './manifests.js';

/**
 * The compose file against the Compose Specification (its JSON schema, vendored in schemas/), and every
 * variable the chart and the compose file set against what app-config actually reads: a renamed or
 * misspelt variable would otherwise be ignored in silence.
 */
const READ = new Set(Object.keys(EnvSchema.shape));
/** Variables without which app-config refuses to start (none today: every one has a default or is optional). */
const REQUIRED = [...READ].filter(
  (k) => !EnvSchema.shape[k as keyof typeof EnvSchema.shape].safeParse(undefined).success,
);

function ragnestServices(compose: any): [string, any][] {
  return Object.entries(compose.services).filter(([, s]: [string, any]) => s.image?.startsWith('ragnest:'));
}

describe('compose file', () => {
  it('is valid against the Compose Specification', () => {
    // Draft-07, named by its https URL, which Ajv knows by its http one: the meta-schema check is skipped.
    const schema = JSON.parse(readFileSync(join(ROOT, 'test/deploy/schemas/compose-spec.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    const validate = ajv.compile(schema);
    const ok = validate(readCompose());
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
    const broken = readCompose();
    broken.services.gateway.replicas = 2; // belongs under deploy:
    expect(validate(broken)).toBe(false);
  });

  it('runs PostgreSQL with pgvector pinned, Redis as a queue, a migrate step and two retrieval replicas', () => {
    const compose = readCompose();
    expect(compose.services.postgres.image).toMatch(/^pgvector\/pgvector:\d+\.\d+\.\d+-pg16$/);
    expect(compose.services.redis.command).toEqual(
      expect.arrayContaining(['--maxmemory-policy', 'noeviction', '--appendonly', 'yes']),
    );
    expect(compose.services.migrate.command).toEqual(['node', 'bin/ragnest.js', 'migrate']);
    expect(compose.services.retrieval.deploy.replicas).toBe(2);
    expect(compose.services.ragnest.profiles).toEqual(['single']);
    for (const [name, s] of ragnestServices(compose)) {
      if (name === 'migrate') continue;
      expect(s.depends_on.migrate.condition, name).toBe('service_completed_successfully');
      expect(s.environment.DATABASE_MIGRATE, name).toBe('false');
      expect(s.read_only, name).toBe(true);
      expect(s.cap_drop, name).toEqual(['ALL']);
    }
  });

  it('sets only variables that app-config reads, and every one it requires', () => {
    for (const [name, s] of ragnestServices(readCompose())) {
      const keys = Object.keys(s.environment);
      expect(
        keys.filter((k) => !READ.has(k)),
        name,
      ).toEqual([]);
      for (const k of REQUIRED) expect(keys, name).toContain(k);
    }
  });
});

describe('chart environment', () => {
  it.each(Object.entries(VALUE_SETS))(
    'sets only variables that app-config reads (%s values)',
    (_name, args) => {
      const manifests = render(args);
      const set = new Set<string>(Object.keys(byKind(manifests, 'ConfigMap')[0].data));
      for (const s of byKind(manifests, 'Secret')) for (const k of Object.keys(s.data ?? {})) set.add(k);
      for (const w of [...byKind(manifests, 'Deployment'), ...byKind(manifests, 'Job')])
        for (const c of w.spec.template.spec.containers) for (const e of c.env ?? []) set.add(e.name);
      set.delete('POSTGRES_PASSWORD'); // the in-cluster PostgreSQL's own Secret
      expect([...set].filter((k) => !READ.has(k))).toEqual([]);
      for (const k of REQUIRED) expect([...set]).toContain(k);
    },
  );

  it('names in values.schema.json only secret keys and chart-set variables that app-config reads', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
    const secretKeys = Object.keys(schema.properties.secret.properties.data.properties);
    const chartSet: string[] = schema.properties.config.propertyNames.not.enum;
    expect([...secretKeys, ...chartSet].filter((k) => !READ.has(k))).toEqual([]);
  });
});
