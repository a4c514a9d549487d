import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './manifests.js';

/** `NAME=value` pairs of glibc's malloc tunables (MALLOC_*) in a line of shell or a Dockerfile ENV. */
function mallocTunables(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/\b(MALLOC_[A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]]));
}

describe('image', () => {
  it('sets the malloc tunables `npm start` sets, so a container holds as little memory as the single binary', () => {
    const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string;
    const fromStart = mallocTunables(start);
    expect(Object.keys(fromStart).sort()).toEqual(['MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_']);
    const env = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('ENV '))
      .join('\n');
    expect(mallocTunables(env)).toEqual(fromStart);
  });
});
