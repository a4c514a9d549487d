import type { Manifest } from './manifests.js';

/**
 * Policy checks on rendered manifests, as code: each returns the violations it finds, so a test can both
 * require none on the chart and show that a manifest with a hole is caught.
 */
const WORKLOADS = ['Deployment', 'StatefulSet', 'Job'];

function podSpec(m: Manifest): any {
  return m.spec?.template?.spec;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Every container: requests, non-root, read-only root filesystem, no privilege escalation, drop ALL, seccomp. */
export function securityViolations(manifests: Manifest[]): string[] {
  const out: string[] = [];
  for (const m of manifests.filter((x) => WORKLOADS.includes(x.kind))) {
    const spec = podSpec(m);
    const pod = spec?.securityContext ?? {};
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
      const at = `${m.kind}/${m.metadata.name} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory)
        out.push(`${at}: no cpu and memory requests`);
      if (!c.resources?.limits?.memory) out.push(`${at}: no memory limit`);
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) out.push(`${at}: runAsNonRoot is not true`);
      if (sc.readOnlyRootFilesystem !== true) out.push(`${at}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation is not false`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${at}: capabilities do not drop ALL`);
      if ((sc.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault')
        out.push(`${at}: seccompProfile is not RuntimeDefault`);
    }
    if (spec?.automountServiceAccountToken !== false) out.push(`${m.kind}/${m.metadata.name}: token mounted`);
  }
  return out;
}

/** Every long-running container has startup, liveness and readiness probes; ragnest's are on /health/*. */
export function probeViolations(manifests: Manifest[]): string[] {
  const out: string[] = [];
  for (const m of manifests.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
    for (const c of podSpec(m)?.containers ?? []) {
      const at = `${m.kind}/${m.metadata.name} container ${c.name}`;
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        if (!c[probe]) out.push(`${at}: no ${probe}`);
      if (m.kind === 'Deployment') {
        if (c.startupProbe?.httpGet?.path !== '/health/live')
          out.push(`${at}: startupProbe not on /health/live`);
        if (c.livenessProbe?.httpGet?.path !== '/health/live')
          out.push(`${at}: livenessProbe not on /health/live`);
        if (c.readinessProbe?.httpGet?.path !== '/health/ready')
          out.push(`${at}: readinessProbe not on /health/ready`);
      }
    }
  }
  return out;
}

/** Every Deployment is covered by a PodDisruptionBudget. */
export function pdbViolations(manifests: Manifest[]): string[] {
  const pdbs = manifests.filter((m) => m.kind === 'PodDisruptionBudget');
  return manifests
    .filter((m) => m.kind === 'Deployment')
    .filter((d) => !pdbs.some((p) => selects(p.spec?.selector?.matchLabels, d.spec.template.metadata.labels)))
    .map((d) => `Deployment/${d.metadata.name}: no PodDisruptionBudget selects its pods`);
}

/**
 * Kubernetes waits terminationGracePeriodSeconds from the start of termination: the preStop sleep, then
 * the app's own SHUTDOWN_GRACE_MS must fit in it, or the kubelet kills a process still finishing work.
 */
export function shutdownViolations(manifests: Manifest[], graceMs: number): string[] {
  const out: string[] = [];
  for (const d of manifests.filter((m) => m.kind === 'Deployment')) {
    const spec = podSpec(d);
    for (const c of spec.containers) {
      const preStop = c.lifecycle?.preStop;
      if (!preStop) {
        out.push(`Deployment/${d.metadata.name}: no preStop`);
        continue;
      }
      const preStopMs = (preStop.sleep?.seconds ?? 0) * 1000;
      if ((spec.terminationGracePeriodSeconds ?? 30) * 1000 < preStopMs + graceMs)
        out.push(
          `Deployment/${d.metadata.name}: terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} ` +
            `< preStop ${preStopMs} ms + SHUTDOWN_GRACE_MS ${graceMs} ms`,
        );
    }
  }
  return out;
}

/** A read-only root filesystem needs a writable /tmp: every such container mounts one. */
export function tmpViolations(manifests: Manifest[]): string[] {
  const out: string[] = [];
  for (const m of manifests.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
    for (const c of podSpec(m).containers)
      if (!(c.volumeMounts ?? []).some((v: any) => v.mountPath === '/tmp'))
        out.push(`${m.kind}/${m.metadata.name}: no writable /tmp`);
  }
  return out;
}

/** With network policies on, every pod of the release is selected by one. */
export function networkPolicyViolations(manifests: Manifest[]): string[] {
  const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
  return manifests
    .filter((m) => m.kind === 'Deployment' || m.kind === 'Job')
    .filter(
      (w) =>
        !policies.some((p) => selects(p.spec?.podSelector?.matchLabels, w.spec.template.metadata.labels)),
    )
    .map((w) => `${w.kind}/${w.metadata.name}: no NetworkPolicy selects its pods`);
}
