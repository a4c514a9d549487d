import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';

/**
 * The browser playground (apps/playground, built by `npm run build` into dist/playground), served at
 * `/` beside the API. Only `/` and `/assets/*` are the playground's, so no API route, and not `/docs`,
 * can be shadowed by it, and an API request costs no file-system look-up. The assets' names carry a
 * content hash (Vite), so they are cached for a year; the page itself is revalidated on every load.
 */
export const PLAYGROUND_ASSETS = '/assets/';

/** dist/playground under the package root: the first directory up from here with a package.json. */
export function playgroundDir(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'playground');
    if (dirname(dir) === dir) return undefined;
  }
}

/** Mounts the playground when it has been built; says whether it did. */
export function mountPlayground(app: INestApplication, dir = playgroundDir()): boolean {
  const indexFile = dir && join(dir, 'index.html');
  if (!indexFile || !existsSync(indexFile)) return false;
  const page = readFileSync(indexFile);
  const express = app as NestExpressApplication;
  express.use((req: Request, res: Response, next: NextFunction) => {
    if (req.path !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Length', page.length);
    res.end(req.method === 'HEAD' ? undefined : page);
  });
  express.useStaticAssets(join(dir, 'assets'), {
    prefix: PLAYGROUND_ASSETS,
    index: false,
    immutable: true,
    maxAge: '365d',
    redirect: false,
  });
  return true;
}
