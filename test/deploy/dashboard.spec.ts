import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '#observability';
import { ROOT } from './manifests.js';

/** The Grafana dashboard shipped with the chart's ServiceMonitor, checked against the metrics the code defines. */
describe('Grafana dashboard (docs/grafana/ragnest.json)', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs/grafana/ragnest.json'), 'utf8')) as {
    uid: string;
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
  );

  it('queries only metrics that ragnest exports', async () => {
    const defined = new Set(
      (await new Metrics({ processMetrics: true }).registry.getMetricsAsJSON()).map((m) => m.name),
    );
    const used = new Set(
      exprs.flatMap(({ expr }) =>
        [...expr.matchAll(/\b((?:ragnest|process|nodejs)_[a-z0-9_]+)/g)].map((m) =>
          m[1].replace(/_(bucket|sum|count)$/, ''),
        ),
      ),
    );
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !defined.has(name))).toEqual([]);
  });

  it('covers every ragnest metric, each panel filtered by the context variable', async () => {
    const ours = (await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name);
    const text = exprs.map((e) => e.expr).join('\n');
    expect(ours.filter((name) => !text.includes(name))).toEqual([]);
    for (const { panel, expr } of exprs) expect(expr, panel).toContain('context=~"$context"');
  });
});
