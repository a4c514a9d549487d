import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestApp, type TestApp } from '#testing';
import { createApp } from '#app';

/** `ragnest keys` (the built command, as a user runs it) on the database a running server uses. */
const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/ragnest.js', import.meta.url));

describe('ragnest keys', () => {
  let t: TestApp;
  const ragnest = (...args: string[]) =>
    run(process.execPath, [BIN, 'keys', ...args], {
      env: { ...process.env, DATABASE_URL: t.config.database.url, LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });

  beforeAll(async () => {
    t = await startTestApp(createApp, 'postgres');
  });
  afterAll(() => t?.close());

  it('creates a key that prints alone on stdout, lists it without its secret, and revokes it', async () => {
    const created = await ragnest('create', '--name', 'search-ui', '--scope', 'read:docs-*');
    const key = created.stdout.trim();
    expect(key).toMatch(/^rn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('keep it now');
    const id = key.slice(3, 19);

    const search = await http(
      t.baseUrl,
      'POST',
      '/rag/search',
      { collection: 'docs-x', query: 'a' },
      {
        authorization: `Bearer ${key}`,
      },
    );
    expect(search.status).toBe(404); // in scope; the collection does not exist yet
    expect(
      (await http(t.baseUrl, 'GET', '/rag/keys', undefined, { authorization: `Bearer ${key}` })).status,
    ).toBe(403);

    const list = JSON.parse((await ragnest('list', '--json')).stdout);
    expect(list.keys).toEqual([
      expect.objectContaining({ id, name: 'search-ui', scopes: ['read:docs-*'], revokedAt: null }),
    ]);
    expect(JSON.stringify(list)).not.toContain(key.slice(20));

    expect((await ragnest('revoke', id)).stdout).toContain(`revoked ${id}`);
    await new Promise((r) => setTimeout(r, t.config.auth.keyCacheMs + 50));
    const after = await http(
      t.baseUrl,
      'POST',
      '/rag/search',
      { collection: 'docs-x', query: 'a' },
      {
        authorization: `Bearer ${key}`,
      },
    );
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('AUTH.KEY_REVOKED');

    const bad = await ragnest('create', '--name', 'x', '--scope', 'read:../x').catch(
      (e: { stderr: string; code: number }) => e,
    );
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('read:../x') });
    const unknown = await ragnest('revoke', 'ffffffffffffffff').catch(
      (e: { stderr: string; code: number }) => e,
    );
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('does not exist') });
  });
});
