#!/usr/bin/env node
// The ragnest command: runs the built CLI (npm run build, or npm start, builds it).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'apps', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error('ragnest is not built yet: run `npm run build` (npm start does it for you).');
  process.exit(1);
}
await import(entry);
