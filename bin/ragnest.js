#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node
// The ragnest command: runs the built CLI (npm run build, or npm start, builds it). The line above is how
// it runs (npm start runs this file, as `npx ragnest` does): glibc's malloc keeps an arena a thread, and
// their freed memory stays resident; two arenas took the single binary's RSS after a SciFact ingest on
// PGlite from 445-454 to 422-435 MiB, at the same ingestion speed on PostgreSQL (docs/operations.md).
// The benchmarks start it with the same settings.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'apps', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error('ragnest is not built yet: run `npm run build` (npm start does it for you).');
  process.exit(1);
}
await import(entry);
