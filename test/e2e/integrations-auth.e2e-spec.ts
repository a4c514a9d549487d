import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { eventually, http, startTestApp, type TestApp } from '#testing';
import { createApp } from '#app';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/**
 * MCP at /mcp and the OpenAI-compatible /v1 under API keys: the key is the same bearer token as for
 * /rag, and its scopes bound every tool call, resource, model list and chat completion as they bound
 * the REST routes.
 */
describe('MCP and the OpenAI-compatible API under API keys', () => {
  let t: TestApp;
  let admin: string;
  let reader: string;

  const mcp = async (key?: string) => {
    const client = new Client({ name: 'ragnest-e2e-auth', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.baseUrl}/mcp`), {
        requestInit: key ? { headers: bearer(key) } : undefined,
      }),
    );
    return client;
  };
  const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

  beforeAll(async () => {
    t = await startTestApp(createApp, 'postgres');
    const key = async (scopes: string[], headers: Record<string, string> = {}) => {
      const res = await http(t.baseUrl, 'POST', '/rag/keys', { name: scopes.join(' '), scopes }, headers);
      expect(res.status).toBe(201);
      return (res.body as { key: string }).key;
    };
    admin = await key(['admin']);
    reader = await key(['read:facts'], bearer(admin));
    for (const collection of ['facts', 'secret']) {
      const res = await http(
        t.baseUrl,
        'POST',
        `/rag/collections/${collection}/documents`,
        { documents: [{ id: 'a', text: `Green tea contains catechins (${collection}).` }] },
        bearer(admin),
      );
      expect(res.status).toBe(202);
    }
    await eventually(async () => {
      const res = await http(t.baseUrl, 'GET', '/rag/collections/secret', undefined, bearer(admin));
      return res.body.documents?.indexed === 1;
    });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('MCP: a key reads what its scopes cover, and nothing else', async () => {
    await expect(mcp()).rejects.toThrow(/AUTH\.KEY_MISSING/);

    const client = await mcp(reader);
    try {
      const listed = (await client.callTool({ name: 'list_collections', arguments: {} })) as CallToolResult;
      expect(
        (listed.structuredContent as { collections: { name: string }[] }).collections.map((c) => c.name),
      ).toEqual(['facts']);
      const found = (await client.callTool({
        name: 'search',
        arguments: { collection: 'facts', query: 'green tea' },
      })) as CallToolResult;
      expect(found.isError).toBeFalsy();

      for (const [name, args] of [
        ['search', { collection: 'secret', query: 'green tea' }],
        ['ask', { collection: 'secret', query: 'green tea?' }],
        ['get_document', { collection: 'secret', id: 'a' }],
        ['add_documents', { collection: 'facts', documents: [{ text: 'more' }] }],
      ] as const) {
        const refused = (await client.callTool({ name, arguments: args })) as CallToolResult;
        expect(refused.isError, name).toBe(true);
        expect(text(refused), name).toMatch(/^AUTH\.FORBIDDEN: /);
      }
      await expect(client.readResource({ uri: 'ragnest://collections/secret' })).rejects.toThrow(
        /may not read/,
      );
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.name)).toEqual(['facts']);
    } finally {
      await client.close();
    }
  });

  it('OpenAI: the key is the API key; models are the readable collections; others are 403', async () => {
    const openai = new OpenAI({ baseURL: `${t.baseUrl}/v1`, apiKey: reader, maxRetries: 0 });
    const models = [];
    for await (const model of openai.models.list()) models.push(model.id);
    expect(models).toEqual(['facts']);

    const completion = await openai.chat.completions.create({
      model: 'facts',
      messages: [{ role: 'user', content: 'What does green tea contain?' }],
    });
    expect(completion.choices[0].message.content).toMatch(/catechins/);

    const forbidden = await openai.chat.completions
      .create({ model: 'secret', messages: [{ role: 'user', content: 'What does green tea contain?' }] })
      .catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(forbidden).toMatchObject({ status: 403, type: 'permission_error', code: 'AUTH.FORBIDDEN' });

    const stranger = new OpenAI({ baseURL: `${t.baseUrl}/v1`, apiKey: 'not-a-key', maxRetries: 0 });
    const unauthorized = await stranger.models.list().catch((e: unknown) => e);
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauthorized).toMatchObject({
      status: 401,
      type: 'authentication_error',
      code: 'invalid_api_key',
    });
  });
});
