import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '#platform';
import {
  createTestDatabase,
  eventually,
  http,
  startTestApp,
  type TestApp,
  type TestDatabase,
} from '#testing';
import { createApp } from '#app';

/**
 * API keys end to end: their lifecycle through the admin API, what a key's scopes allow, protected mode
 * (loopback only while no key exists) seen from a real non-loopback interface of this machine, AUTH=off,
 * and a revocation reaching a second gateway on the same database within a second.
 */
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** `rn_<16 hex>_<secret>`; the secret may itself hold "_". */
const secretOf = (key: string) => key.slice('rn_'.length + 16 + 1);

async function createKey(baseUrl: string, scopes: string[], headers: Record<string, string> = {}) {
  const res = await http(baseUrl, 'POST', '/rag/keys', { name: scopes.join(' '), scopes }, headers);
  expect(res.status).toBe(201);
  return res.body as { id: string; key: string; scopes: string[] };
}

/** This machine's first non-loopback IPv4 address, if it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) return i.address;
  return undefined;
}

describe('API keys', () => {
  let t: TestApp;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    http(t.baseUrl, method, path, body, headers);

  beforeAll(async () => {
    t = await startTestApp(createApp, 'postgres');
  });
  afterAll(() => t?.close());

  it('serves loopback without a key while none exists, then needs one; lists, scopes and revokes', async () => {
    expect((await call('GET', '/rag/collections')).status).toBe(200);
    const admin = await createKey(t.baseUrl, ['admin']);
    expect(admin.key).toMatch(/^rn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(admin.key.startsWith(`rn_${admin.id}_`)).toBe(true);

    // Now that a key exists, loopback needs one too.
    const anonymous = await call('GET', '/rag/collections');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(anonymous.body.error).toMatchObject({ code: 'AUTH.KEY_MISSING', requestId: expect.any(String) });
    // Health, docs and probes stay open.
    expect((await call('GET', '/health/live')).status).toBe(200);
    const openapi = await call('GET', '/docs/openapi.json');
    expect(openapi.status).toBe(200);
    expect(openapi.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(openapi.body.paths['/rag/search'].post.security).toEqual([{ bearer: [] }]);
    expect(openapi.body.paths['/rag/keys'].post.responses).toHaveProperty('403');
    expect(openapi.body.paths['/health/live'].get.security).toBeUndefined();

    const wrongSecret = admin.key.slice(0, -4) + (admin.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const header of [
      `Bearer ${wrongSecret}`,
      'Bearer rn_0000000000000000_x',
      `Basic ${admin.key}`,
      'Bearer',
    ]) {
      const res = await call('GET', '/rag/collections', undefined, { authorization: header });
      expect(res.status, header).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body.error.code).toBe('AUTH.KEY_INVALID');
    }

    const reader = await createKey(t.baseUrl, ['read:docs-*', 'write:docs-a'], bearer(admin.key));
    const ingest = await call(
      'POST',
      '/rag/collections/docs-a/documents',
      { documents: [{ id: 'x', text: 'the quick brown fox' }] },
      bearer(reader.key),
    );
    expect(ingest.status).toBe(202);
    expect(ingest.body.documents[0].jobId).toMatch(/^\d+:1:[0-9a-f]{32}$/);
    await eventually(async () => {
      const r = await call('GET', '/rag/collections/docs-a/documents/x', undefined, bearer(reader.key));
      return r.body.status === 'indexed';
    });
    const search = await call(
      'POST',
      '/rag/search',
      { collection: 'docs-a', query: 'fox' },
      bearer(reader.key),
    );
    expect(search.status).toBe(200);
    expect(search.body.results[0].text).toContain('fox');
    // Read on docs-*, write on docs-a only; nothing on other names; no admin.
    const denied = [
      await call('POST', '/rag/search', { collection: 'other', query: 'fox' }, bearer(reader.key)),
      await call(
        'POST',
        '/rag/collections/docs-b/documents',
        { documents: [{ text: 'y' }] },
        bearer(reader.key),
      ),
      await call('DELETE', '/rag/collections/docs-b', undefined, bearer(reader.key)),
      await call('GET', '/rag/keys', undefined, bearer(reader.key)),
      await call('POST', '/rag/keys', { name: 'x', scopes: ['admin'] }, bearer(reader.key)),
      await call('POST', '/rag/keys', { bogus: true }, bearer(reader.key)),
    ];
    for (const res of denied) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('AUTH.FORBIDDEN');
    }
    const listed = await call('GET', '/rag/collections', undefined, bearer(reader.key));
    expect(listed.body).toEqual({ collections: [{ name: 'docs-a', documents: 1, chunks: 1 }] });

    // The list never shows a secret; the database holds only its SHA-256.
    const keys = await call('GET', '/rag/keys', undefined, bearer(admin.key));
    expect(keys.status).toBe(200);
    expect(keys.body.keys.map((k: { id: string }) => k.id).sort()).toEqual([admin.id, reader.id].sort());
    for (const k of [admin, reader]) expect(keys.text).not.toContain(secretOf(k.key));
    expect(keys.body.keys.find((k: { id: string }) => k.id === reader.id)).toMatchObject({
      scopes: ['read:docs-*', 'write:docs-a'],
      lastUsedAt: expect.any(String),
      revokedAt: null,
    });
    const db = new pg.Client({ connectionString: t.config.database.url });
    await db.connect();
    try {
      const rows = await db.query('SELECT id, secret_hash FROM api_keys');
      const hashOf = (key: string) => createHash('sha256').update(secretOf(key)).digest('hex');
      for (const r of rows.rows)
        expect(r.secret_hash.toString('hex')).toBe(hashOf(r.id === admin.id ? admin.key : reader.key));
    } finally {
      await db.end();
    }

    const revoked = await call('DELETE', `/rag/keys/${reader.id}`, undefined, bearer(admin.key));
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const after = await call(
      'POST',
      '/rag/search',
      { collection: 'docs-a', query: 'fox' },
      bearer(reader.key),
    );
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('AUTH.KEY_REVOKED');
    expect((await call('DELETE', '/rag/keys/ffffffffffffffff', undefined, bearer(admin.key))).status).toBe(
      404,
    );
    const badScope = await call('POST', '/rag/keys', { name: 'x', scopes: ['read:../x'] }, bearer(admin.key));
    expect(badScope.status).toBe(400);
    expect(badScope.text).toContain('read:../x');
  });

  it('stops a revoked key on another gateway of the same database within a second', async () => {
    const second = await startTestApp(createApp, 'postgres', { DATABASE_URL: t.config.database.url! });
    try {
      const admin = await createKey(t.baseUrl, ['admin'], bearer((await freshAdmin()).key));
      const other = (path: string, key: string) => http(second.baseUrl, 'GET', path, undefined, bearer(key));
      // Warm the second gateway's cache of the key.
      expect((await other('/rag/collections', admin.key)).status).toBe(200);
      const revokedAt = Date.now();
      expect((await call('DELETE', `/rag/keys/${admin.id}`, undefined, bearer(admin.key))).status).toBe(200);
      const elapsed = await eventually(
        async () => (await other('/rag/collections', admin.key)).status === 401 && Date.now() - revokedAt,
        5000,
        20,
      );
      expect(elapsed).toBeLessThan(1000);
    } finally {
      await second.close();
    }
  });

  it('deletes a whole collection: documents, chunks, vectors and lexical rows, with write scope', async () => {
    const admin = await freshAdmin();
    const writer = await createKey(t.baseUrl, ['write:gone-*', 'read:gone-*'], bearer(admin.key));
    const documents = Array.from({ length: 5 }, (_, i) => ({ id: `d${i}`, text: `doomed text number ${i}` }));
    for (const c of ['gone-1', 'kept-1'])
      expect(
        (await call('POST', `/rag/collections/${c}/documents`, { documents }, bearer(admin.key))).status,
      ).toBe(202);
    for (const c of ['gone-1', 'kept-1'])
      await eventually(async () => {
        const r = await call('GET', `/rag/collections/${c}`, undefined, bearer(admin.key));
        return r.body.documents?.indexed === 5;
      });
    // An answer cached before the deletion must not outlive it.
    const ask = () =>
      call('POST', '/rag/query', { collection: 'gone-1', query: 'doomed text' }, bearer(writer.key));
    expect((await ask()).status).toBe(200);
    expect((await call('DELETE', '/rag/collections/kept-1', undefined, bearer(writer.key))).status).toBe(403);
    expect((await call('DELETE', '/rag/collections/gone-1', undefined, bearer(writer.key))).status).toBe(204);
    expect((await call('DELETE', '/rag/collections/gone-1', undefined, bearer(writer.key))).status).toBe(404);
    expect((await call('GET', '/rag/collections/gone-1', undefined, bearer(writer.key))).status).toBe(404);
    const afterDelete = await ask();
    expect(afterDelete.status).toBe(404);
    const db = new pg.Client({ connectionString: t.config.database.url });
    await db.connect();
    try {
      const count = async (sql: string) => Number((await db.query(sql)).rows[0].n);
      const kept = `(SELECT id FROM collections WHERE name = 'kept-1')`;
      expect(await count(`SELECT count(*) AS n FROM collections WHERE name = 'gone-1'`)).toBe(0);
      // Whatever is left belongs to the collections that remain.
      for (const table of [
        'documents',
        'chunks',
        'lexical_segments',
        'lexical_blocks',
        'chunk_terms',
        'embedding_sets',
      ])
        expect(
          await count(
            `SELECT count(*) AS n FROM ${table} WHERE collection_id NOT IN (SELECT id FROM collections)`,
          ),
          table,
        ).toBe(0);
      expect(
        await count(
          `SELECT count(*) AS n FROM chunk_vectors WHERE set_id NOT IN (SELECT id FROM embedding_sets)`,
        ),
      ).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM chunks WHERE collection_id = ${kept}`)).toBe(5);
    } finally {
      await db.end();
    }
    // The name is free again: a new, empty collection.
    expect(
      (
        await call(
          'POST',
          '/rag/collections/gone-1/documents',
          { documents: [documents[0]] },
          bearer(writer.key),
        )
      ).status,
    ).toBe(202);
  });

  /** An admin key made straight in the database, so this test does not depend on the one before. */
  async function freshAdmin() {
    const { ApiKeysService, ApiKeyRepository } = await import('#gateway');
    const app = t.app;
    return new ApiKeysService(app.get(ApiKeyRepository)).create({ name: 'fresh', scopes: ['admin'] });
  }
});

describe.skipIf(externalAddress() === undefined)('protected mode seen from another interface', () => {
  const address = externalAddress()!;
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  /** A server on every interface, called on this machine's external address: not loopback to it. */
  async function serve(env: Record<string, string>) {
    const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'error', ...env });
    const app = await createApp(config, { logs: true });
    await app.listen(0, '0.0.0.0');
    const { port } = app.getHttpServer().address() as { port: number };
    return { app, external: `http://${address}:${port}`, loopback: `http://127.0.0.1:${port}` };
  }

  it('answers only loopback while no key exists, says so at start, and anyone with a key after', async () => {
    const log = vi.spyOn(Logger.prototype, 'log');
    const s = await serve({});
    try {
      expect(log.mock.calls.some(([m]) => String(m).includes('only loopback clients'))).toBe(true);
      const refused = await http(s.external, 'GET', '/rag/collections');
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('AUTH.LOOPBACK_ONLY');
      expect((await http(s.external, 'GET', '/health/live')).status).toBe(200);
      expect((await http(s.loopback, 'GET', '/rag/collections')).status).toBe(200);
      const admin = await createKey(s.loopback, ['admin']);
      expect((await http(s.external, 'GET', '/rag/collections', undefined, bearer(admin.key))).status).toBe(
        200,
      );
      expect((await http(s.external, 'GET', '/rag/collections')).status).toBe(401);
      await http(s.loopback, 'DELETE', `/rag/keys/${admin.id}`, undefined, bearer(admin.key));
    } finally {
      log.mockRestore();
      await s.app.close();
    }
  });

  it('serves everyone with AUTH=off, and warns at start', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    const s = await serve({ AUTH: 'off' });
    try {
      expect(warn.mock.calls.some(([m]) => String(m).includes('AUTH=off'))).toBe(true);
      const res = await http(s.external, 'GET', '/rag/collections');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ collections: [] });
    } finally {
      warn.mockRestore();
      await s.app.close();
    }
  });
});
