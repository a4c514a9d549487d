#!/usr/bin/env node
// Two (or more) builds of ragnest side by side on one database already filled, as a regression check:
// each build's `ragnest serve` is started on its own port, and /rag/search is measured build after build,
// cell after cell, for --rounds rounds, so the machine's drift falls on every build alike. Prints the
// p50 ms, req/s and errors of each build, each cell, each round, as JSON; asserts nothing.
//
// Run: node scripts/bench/compare-builds.mjs --database <url of a filled database> \
//        --build old=/path/to/other/worktree --build new=. [--cells sparse:1,hybrid:8] [--rounds 3]
// A build is a checkout with `npm run build` done (e.g. `git worktree add ../old <commit>`). The database
// must hold the `bench` collection, e.g. one kept from scripts/bench/ingest-search.mjs, and be migrated
// for every build compared (the servers start with DATABASE_MIGRATE=false).

import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from './dataset.mjs';
import { measure } from './requests.mjs';
import { freePort, positiveInt, REPO_ROOT, runMain } from './lib.mjs';
import { MALLOC_ENV } from './servers.mjs';

async function main() {
  const { values } = parseArgs({
    options: {
      database: { type: 'string' },
      build: { type: 'string', multiple: true, default: [] },
      cells: { type: 'string', default: 'sparse:1,sparse:8,hybrid:1,hybrid:8' },
      rounds: { type: 'string', default: '3' },
      queries: { type: 'string', default: '300' },
      dataset: { type: 'string', default: join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact') },
    },
    strict: true,
  });
  if (!values.database || values.build.length < 2)
    throw new Error('usage: --database <url> --build name=dir --build name=dir [...]');
  const { queries } = await loadDataset(values.dataset, 10, positiveInt(values.queries, '--queries'));
  const builds = values.build.map((b) => {
    const [name, dir] = b.split('=');
    return { name, dir: resolve(dir) };
  });
  const cells = values.cells.split(',').map((c) => c.split(':'));
  const children = [];
  try {
    for (const b of builds) {
      b.port = await freePort();
      children.push(
        spawn(process.execPath, [join(b.dir, 'bin/ragnest.js'), 'serve'], {
          env: {
            ...process.env,
            ...MALLOC_ENV,
            DATABASE_URL: values.database,
            PORT: String(b.port),
            HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
            DATABASE_MIGRATE: 'false',
            ANSWER_CACHE_SIZE: '0',
            VECTOR_INDEX_MIN_CHUNKS: '1',
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
    }
    for (const b of builds)
      for (;;) {
        const ready = await fetch(`http://127.0.0.1:${b.port}/health/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (ready) break;
        await new Promise((r) => setTimeout(r, 300));
      }
    const out = {};
    for (let round = 0; round < positiveInt(values.rounds, '--rounds'); round++)
      for (const [mode, c] of cells)
        for (const b of builds) {
          const row = await measure(`http://127.0.0.1:${b.port}`, '/rag/search', mode, Number(c), queries);
          ((out[`${mode} c=${c}`] ??= {})[b.name] ??= []).push({
            p50Ms: row.p50Ms,
            requestsPerSecond: row.requestsPerSecond,
            errors: row.errors,
          });
        }
    console.log(JSON.stringify(out, null, 2));
  } finally {
    for (const child of children) child.kill('SIGTERM');
  }
}

runMain(import.meta.url, main);
