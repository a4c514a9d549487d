import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  createTestDatabase,
  deploy,
  eventually,
  FakeLlmServer,
  http,
  llmReply,
  type Deployment,
  type TestDatabase,
} from '#testing';
import { createApp } from '#app';

const BIN = fileURLToPath(new URL('../../bin/ragnest.js', import.meta.url));

/**
 * ragnest's MCP server driven by the official SDK's own client: over streamable HTTP at /mcp of a real
 * server (with a fake OpenAI-compatible model), and over stdio, spawning the built `ragnest mcp` both as
 * a relay to that server (--url) and hosting the contexts itself on a database of its own.
 */
describe('MCP server', () => {
  let llm: FakeLlmServer;
  let t: Deployment;
  let client: Client;

  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

  beforeAll(async () => {
    llm = await new FakeLlmServer().start();
    t = await deploy('postgres', createApp, {
      ...llm.openaiEnv,
      ANSWER_CACHE_SIZE: '0',
    });
    client = new Client({ name: 'ragnest-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.baseUrl}/mcp`)));
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await t?.close();
    await llm?.close();
  });

  beforeEach(() => llm.reset());

  it('lists the five tools with their input schemas from the HTTP contract', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'add_documents',
      'ask',
      'get_document',
      'list_collections',
      'search',
    ]);
    const search = tools.find((tool) => tool.name === 'search')!;
    expect(Object.keys(search.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['collection', 'query', 'mode', 'topK', 'filter']),
    );
    expect(search.inputSchema.required).toEqual(expect.arrayContaining(['collection', 'query']));
    expect(search.annotations?.readOnlyHint).toBe(true);
    const add = tools.find((tool) => tool.name === 'add_documents')!;
    expect(add.annotations?.readOnlyHint).toBe(false);
  });

  it('adds documents, then finds, answers with citations, lists and reads them', async () => {
    const added = await call('add_documents', {
      collection: 'facts',
      documents: [
        { id: 'aspirin', title: 'Aspirin', text: 'Aspirin lowers the risk of a second heart attack.' },
        {
          id: 'sleep',
          text: 'Regular exercise improves sleep quality in older adults.',
          metadata: { year: 2021 },
        },
      ],
    });
    expect(added.isError).toBeFalsy();
    expect(added.structuredContent).toEqual({
      documents: [
        expect.objectContaining({ id: 'aspirin', status: 'queued' }),
        expect.objectContaining({ id: 'sleep', status: 'queued' }),
      ],
    });
    await eventually(async () => {
      const doc = await call('get_document', { collection: 'facts', id: 'sleep' });
      return (doc.structuredContent as { status: string }).status === 'indexed';
    });

    const found = await call('search', { collection: 'facts', query: 'heart attack aspirin', topK: 1 });
    expect(found.isError).toBeFalsy();
    const results = (found.structuredContent as { results: { documentId: string }[] }).results;
    expect(results.map((r) => r.documentId)).toEqual(['aspirin']);
    expect(text(found)).toMatch(/^\[1\] Aspirin \(document aspirin/);

    const filtered = await call('search', {
      collection: 'facts',
      query: 'sleep exercise aspirin',
      mode: 'sparse',
      filter: { year: { $gte: 2020 } },
    });
    const filteredIds = (filtered.structuredContent as { results: { documentId: string }[] }).results;
    expect(filteredIds.map((r) => r.documentId)).toEqual(['sleep']);

    llm.reply(llmReply.text('Aspirin lowers the risk of a second heart attack [1].'));
    const asked = await call('ask', { collection: 'facts', query: 'Does aspirin help the heart?', topK: 2 });
    expect(asked.isError).toBeFalsy();
    const answer = asked.structuredContent as {
      answer: string;
      citations: { index: number; documentId: string }[];
      degraded: string[];
    };
    expect(answer.answer).toBe('Aspirin lowers the risk of a second heart attack [1].');
    expect(answer.citations[0]).toMatchObject({ index: 1, documentId: 'aspirin' });
    expect(answer.degraded).not.toContain('generation');
    expect(text(asked)).toMatch(/\[1\]\.\n\nSources:\n\[1\] Aspirin \(document aspirin\)/);
    expect(llm.requests).toHaveLength(1);

    const listed = await call('list_collections');
    expect(listed.structuredContent).toEqual({
      collections: [{ name: 'facts', documents: 2, chunks: 2 }],
    });

    const doc = await call('get_document', { collection: 'facts', id: 'aspirin' });
    expect(doc.structuredContent).toMatchObject({ id: 'aspirin', status: 'indexed', title: 'Aspirin' });
  });

  it('serves collections and documents as resources', async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate).sort()).toEqual([
      'ragnest://collections/{collection}',
      'ragnest://collections/{collection}/documents/{id}',
    ]);
    const { resources } = await client.listResources();
    expect(resources).toContainEqual(
      expect.objectContaining({ uri: 'ragnest://collections/facts', name: 'facts' }),
    );
    const collection = await client.readResource({ uri: 'ragnest://collections/facts' });
    expect(JSON.parse((collection.contents[0] as { text: string }).text)).toMatchObject({
      name: 'facts',
      documents: { indexed: 2 },
    });
    const doc = await client.readResource({ uri: 'ragnest://collections/facts/documents/aspirin' });
    expect(JSON.parse((doc.contents[0] as { text: string }).text)).toMatchObject({
      id: 'aspirin',
      status: 'indexed',
    });
    await expect(client.readResource({ uri: 'ragnest://collections/nope/documents/x' })).rejects.toThrow(
      /collection "nope" does not exist/,
    );
  });

  it('refuses invalid input as a tool error naming the field, as the HTTP API would', async () => {
    const tooMany = await call('search', { collection: 'facts', query: 'aspirin', topK: 1000 });
    expect(tooMany.isError).toBe(true);
    expect(text(tooMany)).toMatch(/topK/);
    const http400 = await http(t.baseUrl, 'POST', '/rag/search', {
      collection: 'facts',
      query: 'aspirin',
      topK: 1000,
    });
    expect(http400.status).toBe(400);

    const badName = await call('ask', { collection: '../etc', query: 'aspirin' });
    expect(badName.isError).toBe(true);
    expect(text(badName)).toMatch(/collection/);

    const unknownField = await call('search', { collection: 'facts', query: 'aspirin', limit: 3 });
    expect(unknownField.isError).toBe(true);
    expect(text(unknownField)).toMatch(/limit/);

    const emptyText = await call('add_documents', {
      collection: 'facts',
      documents: [{ id: 'x', text: '  ' }],
    });
    expect(emptyText.isError).toBe(true);
    expect(text(emptyText)).toMatch(/documents\[0\]\.text/);

    const missing = await call('get_document', { collection: 'facts', id: 'nope' });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/^INGESTION\.\w+: document "nope" does not exist/);
    expect(missing.structuredContent).toMatchObject({
      error: { code: expect.stringMatching(/^INGESTION\./) },
    });
  });

  it('answers GET and DELETE on /mcp with 405: the server keeps no sessions', async () => {
    const res = await fetch(`${t.baseUrl}/mcp`, { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await fetch(`${t.baseUrl}/mcp`, { method: 'DELETE' })).status).toBe(405);
  });

  describe('over stdio (the built CLI)', () => {
    let db: TestDatabase | undefined;
    const stdio = async (args: string[], env: Record<string, string> = {}) => {
      const c = new Client({ name: 'ragnest-e2e-stdio', version: '1.0.0' });
      await c.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [BIN, 'mcp', ...args],
          env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'error', ...env },
          stderr: 'inherit',
        }),
      );
      return c;
    };

    afterAll(async () => {
      await db?.drop();
    });

    it('relays to a running server with --url', async () => {
      const c = await stdio(['--url', t.baseUrl]);
      try {
        const { tools } = await c.listTools();
        expect(tools).toHaveLength(5);
        const found = (await c.callTool({
          name: 'search',
          arguments: { collection: 'facts', query: 'sleep quality', topK: 1 },
        })) as CallToolResult;
        expect((found.structuredContent as { results: { documentId: string }[] }).results[0].documentId).toBe(
          'sleep',
        );
        const bad = (await c.callTool({
          name: 'search',
          arguments: { collection: 'facts', query: '' },
        })) as CallToolResult;
        expect(bad.isError).toBe(true);
        expect(text(bad)).toMatch(/query/);
      } finally {
        await c.close();
      }
    });

    it('tells the host when the server cannot be reached', async () => {
      await expect(stdio(['--url', 'http://127.0.0.1:9'])).rejects.toThrow(/127\.0\.0\.1:9\/mcp/);
    });

    it('hosts the contexts itself without --url', async () => {
      db = await createTestDatabase();
      const c = await stdio([], { DATABASE_URL: db.url, LLM_PROVIDER: 'extractive' });
      try {
        await c.callTool({
          name: 'add_documents',
          arguments: {
            collection: 'tea',
            documents: [{ id: 'green', text: 'Green tea contains catechins.' }],
          },
        });
        await eventually(async () => {
          const doc = (await c.callTool({
            name: 'get_document',
            arguments: { collection: 'tea', id: 'green' },
          })) as CallToolResult;
          return (doc.structuredContent as { status: string }).status === 'indexed';
        });
        const asked = (await c.callTool({
          name: 'ask',
          arguments: { collection: 'tea', query: 'What does green tea contain?' },
        })) as CallToolResult;
        const answer = asked.structuredContent as { answer: string; citations: { documentId: string }[] };
        expect(answer.answer).toMatch(/catechins.*\[1\]/);
        expect(answer.citations[0].documentId).toBe('green');
      } finally {
        await c.close();
      }
    });
  });
});
