import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestApp, type TestApp } from '#testing';
import { createApp } from '#app';

/**
 * Requests that try to break in: 10,000 built by fast-check from the server's own OpenAPI document (every
 * path and method, bodies shaped by the schemas) and salted with hostile values (path traversal, unicode,
 * NUL, prototype pollution, SQL, deep nesting, huge numbers and strings). Not one may get a 5xx or crash
 * the process, and every error must be in the documented shape, without a stack, SQL or path in it.
 */
const RUNS = 1000;
const PARALLEL = 10;

const HOSTILE_STRINGS = [
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  'a\u0000b',
  '\u0000',
  '\ud800',
  '\uffff\ufeff\u202e',
  'Ω≈ç√∫˜µ≤≥÷ 𝕳𝖊𝖑𝖑𝖔 💥 ﷽',
  "'; DROP TABLE documents; --",
  "' OR '1'='1",
  '$where',
  '__proto__',
  'constructor',
  'prototype',
  '{{7*7}}',
  '${process.env.HOME}',
  '<script>alert(1)</script>',
  'x'.repeat(70_000),
  '',
  ' ',
];
const HOSTILE_NUMBERS = [1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -0, 0.5, -1, 2 ** 31, 2 ** 63];

const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string(),
  fc.string({ unit: 'binary' }),
);
const hostileScalar = fc.oneof(
  hostileString,
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.boolean(),
  fc.constant(null),
);
const hostileObject = fc.oneof(
  fc.constant(JSON.parse('{"__proto__":{"polluted":true}}')),
  fc.constant({ constructor: { prototype: { polluted: true } } }),
  fc.dictionary(hostileString, hostileScalar, { maxKeys: 5 }),
  fc.letrec((tie) => ({ node: fc.oneof(hostileScalar, fc.array(tie('node'), { maxLength: 3 })) })).node,
);
const hostile = fc.oneof(hostileScalar, hostileObject);

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  additionalProperties?: Schema | boolean;
  minimum?: number;
  maximum?: number;
  default?: unknown;
};

/** A value for a JSON schema: mostly of its shape (so validation goes deep), sometimes hostile instead. */
function fromSchema(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return hostile;
  const shaped = (() => {
    if (schema.enum) return fc.constantFrom(...schema.enum);
    const union = schema.anyOf ?? schema.oneOf;
    if (union) return fc.oneof(...union.map((s) => fromSchema(s, depth + 1)));
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    switch (type) {
      case 'object': {
        const props = Object.entries(schema.properties ?? {});
        if (props.length === 0) {
          const values =
            typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
          return fc.dictionary(
            fc.oneof(fc.constantFrom('year', 'source', 'a.b'), hostileString),
            fromSchema(values, depth + 1),
            {
              maxKeys: 4,
            },
          );
        }
        return fc.record(Object.fromEntries(props.map(([k, s]) => [k, fromSchema(s, depth + 1)])), {
          requiredKeys: schema.required ?? [],
        });
      }
      case 'array':
        return fc.array(fromSchema(schema.items, depth + 1), { maxLength: 4 });
      case 'string':
        return fc.oneof(
          fc.constantFrom('papers', 'p1', 'aspirin stroke', 'hybrid'),
          fc.string({ maxLength: 40 }),
        );
      case 'integer':
        return fc.oneof(
          fc.integer({ min: -5, max: 200 }),
          fc.constantFrom(schema.minimum ?? 1, schema.maximum ?? 10),
        );
      case 'number':
        return fc.oneof(fc.double({ noNaN: true }), fc.integer());
      case 'boolean':
        return fc.boolean();
      default:
        return hostile;
    }
  })();
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: hostile });
}

interface Operation {
  method: string;
  path: string;
  body?: Schema;
}

/** A raw body that is not what JSON.stringify makes: broken JSON, deep nesting, the wrong type. */
const rawBody = fc.oneof(
  fc.constantFrom('{', '[', '{"a":', 'null', '"text"', '1e999999', '{"__proto__":{"polluted":1}}'),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1000, max: 5000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  fc.string({ unit: 'binary' }),
);

/** encodeURIComponent, with a lone surrogate sent as the bytes a careless client would send. */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

function requestFor(op: Operation) {
  const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const param = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('papers', 'p1', 'fresh', '1:1', 'nope').map(encodeURIComponent) },
    { weight: 3, arbitrary: hostileString.map((s) => encode(s.slice(0, 300))) },
    { weight: 1, arbitrary: fc.constantFrom('..', '%ZZ', '%00', '%2e%2e', 'a%2Fb', '%C0%AE', '%uD800') },
  );
  const body = op.body
    ? fc.oneof(
        { weight: 5, arbitrary: fromSchema(op.body).map((b) => JSON.stringify(b) ?? 'null') },
        { weight: 1, arbitrary: rawBody },
      )
    : fc.option(rawBody, { nil: undefined });
  return fc.record({
    op: fc.constant(op),
    params: fc.tuple(...params.map(() => param)),
    body,
    contentType: fc.constantFrom(
      'application/json',
      'application/json',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
    ),
  });
}

describe('fuzzing every endpoint from the OpenAPI document', () => {
  let t: TestApp;
  const operations: Operation[] = [];

  beforeAll(async () => {
    t = await startTestApp(createApp, 'postgres', { RATE_LIMIT: 'off', HTTP_BODY_TIMEOUT_MS: '5000' });
    await http(t.baseUrl, 'POST', '/rag/collections/papers/documents', {
      documents: [
        { id: 'p1', text: 'Aspirin lowers the risk of stroke.', metadata: { year: 2005, source: 'x' } },
      ],
    });
    const doc = (await http(t.baseUrl, 'GET', '/docs/openapi.json')).body as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>
      >;
    };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        operations.push({
          method: method.toUpperCase(),
          path,
          body: op.requestBody?.content['application/json']?.schema,
        });
      }
    }
  });
  afterAll(() => t?.close());

  it('finds every operation the API serves', () => {
    const names = operations.map((o) => `${o.method} ${o.path}`);
    for (const expected of [
      'POST /rag/search',
      'POST /rag/query',
      'POST /rag/collections/{collection}/documents',
      'GET /rag/jobs/{jobId}',
    ])
      expect(names).toContain(expected);
  });

  it(`answers ${RUNS * PARALLEL} random and hostile requests without a 5xx, in the error shape`, async () => {
    const request = fc.oneof(...operations.map(requestFor));
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: PARALLEL, maxLength: PARALLEL }), async (batch) => {
        await Promise.all(
          batch.map(async ({ op, params, body, contentType }) => {
            let i = 0;
            const path = op.path.replace(/\{\w+\}/g, () => params[i++]);
            const res = await fetch(t.baseUrl + path, {
              method: op.method,
              headers: body === undefined ? {} : { 'content-type': contentType },
              body: op.method === 'GET' || op.method === 'HEAD' ? undefined : body,
              signal: AbortSignal.timeout(30_000),
            });
            const text = await res.text();
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            const where = `${op.method} ${path} ${String(body).slice(0, 200)} -> ${res.status} ${text.slice(0, 300)}`;
            expect(res.status, where).toBeLessThan(500);
            expect(text, where).not.toMatch(/\n\s+at |SELECT |INSERT |node_modules|\/work\/|DATABASE_URL/);
            if (res.status >= 400) expectDocumentedError(path, JSON.parse(text), where);
          }),
        );
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // The process is alive and unpolluted.
    expect((await http(t.baseUrl, 'GET', '/health/live')).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  }, 600_000);
});

/**
 * Each surface's documented error shape: ragnest's own under /rag (and everywhere else), OpenAI's under
 * /v1 (docs/integrations.md), and JSON-RPC's from the MCP SDK under /mcp (a body that never reaches the SDK,
 * such as one that is not JSON, gets ragnest's).
 */
function expectDocumentedError(path: string, body: Record<string, unknown>, where: string): void {
  if (path.startsWith('/v1/')) {
    expect(body.error, where).toMatchObject({ message: expect.any(String), type: expect.any(String) });
  } else if (path === '/mcp' && 'jsonrpc' in body) {
    expect(body, where).toMatchObject({
      jsonrpc: '2.0',
      error: { code: expect.any(Number), message: expect.any(String) },
    });
  } else {
    const error = body.error as { requestId?: string };
    expect(error, where).toMatchObject({
      code: expect.stringMatching(/^[A-Z_]+\.[A-Z0-9_]+$/),
      message: expect.any(String),
    });
    expect(error.requestId, where).toMatch(/^[0-9a-f-]{36}$/);
  }
}
