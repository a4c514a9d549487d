import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIEmbedder, type OpenAIEmbedderOptions } from './openai.embedder.js';

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: { model: string; input: string | string[]; dimensions?: number; encoding_format?: string };
}

interface ScriptedReply {
  status?: number;
  /** `data` entries; defaults to one deterministic vector per input, in order. */
  data?: { embedding: number[]; index: number }[];
  /** Never answer (to exercise the timeout). */
  hang?: boolean;
}

/** Vector for an input text: its length, its first char code, then a ramp, so each text is recognisable. */
function vectorFor(text: string, dimensions: number): number[] {
  return Array.from({ length: dimensions }, (_, i) =>
    i === 0 ? text.length : i === 1 ? text.charCodeAt(0) : i,
  );
}

/** A minimal OpenAI-compatible embeddings server on 127.0.0.1 that records requests and plays a script. */
function startFakeServer() {
  const requests: RecordedRequest[] = [];
  const script: ScriptedReply[] = [];
  let dimensions = 4;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw) as RecordedRequest['body'];
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404).end();
        return;
      }
      const reply = script.shift() ?? {};
      if (reply.hang) return;
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const data =
        reply.data ?? inputs.map((text, index) => ({ embedding: vectorFor(text, dimensions), index }));
      const status = reply.status ?? 200;
      const payload =
        status === 200
          ? {
              object: 'list',
              data: data.map((d) => ({ object: 'embedding', ...d })),
              model: body.model,
              usage: { prompt_tokens: 1, total_tokens: 1 },
            }
          : { error: { message: `scripted failure ${status}`, type: 'server_error' } };
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    });
  });
  return {
    requests,
    script,
    setDimensions: (n: number) => (dimensions = n),
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`),
        ),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('OpenAIEmbedder', () => {
  const fake = startFakeServer();
  let baseUrl: string;
  const embedder = (options: Partial<OpenAIEmbedderOptions> = {}) =>
    new OpenAIEmbedder({ model: 'test-embed', baseUrl, apiKey: 'sk-test', maxRetries: 0, ...options });

  beforeAll(async () => {
    baseUrl = await fake.listen();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.script.length = 0;
    fake.setDimensions(4);
  });

  it('posts the model and the texts in OpenAI format, with the API key as bearer token', async () => {
    const vectors = await embedder().embedDocuments(['alpha', 'beta\nwith a newline']);
    expect(vectors).toEqual([vectorFor('alpha', 4), vectorFor('beta\nwith a newline', 4)]);
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/embeddings');
    expect(request.headers.authorization).toBe('Bearer sk-test');
    expect(request.body).toEqual({
      model: 'test-embed',
      input: ['alpha', 'beta\nwith a newline'],
      encoding_format: 'float',
    });
  });

  it('sends configured dimensions and reports them without any request', async () => {
    const client = embedder({ dimensions: 4 });
    expect(client.provider).toBe('openai');
    expect(client.model).toBe('test-embed');
    expect(client.dimensions).toBe(4);
    expect(fake.requests).toHaveLength(0);
    await client.embedQuery('q');
    expect(fake.requests[0].body.dimensions).toBe(4);
  });

  it('splits documents into batches of batchSize and keeps input order', async () => {
    const texts = ['t1', 't2', 't3', 't4', 't5'];
    const vectors = await embedder({ batchSize: 2 }).embedDocuments(texts);
    expect(vectors).toEqual(texts.map((t) => vectorFor(t, 4)));
    expect(fake.requests.map((r) => r.body.input).sort()).toEqual([['t1', 't2'], ['t3', 't4'], ['t5']]);
  });

  it('orders vectors by their index, not by their position in the response', async () => {
    fake.script.push({
      data: [
        { embedding: [2, 2, 2, 2], index: 1 },
        { embedding: [1, 1, 1, 1], index: 0 },
      ],
    });
    expect(await embedder().embedDocuments(['first', 'second'])).toEqual([
      [1, 1, 1, 1],
      [2, 2, 2, 2],
    ]);
  });

  it('embeds a query as a single input', async () => {
    expect(await embedder().embedQuery('what is rag?')).toEqual(vectorFor('what is rag?', 4));
    expect(fake.requests[0].body.input).toBe('what is rag?');
  });

  it('makes no request for an empty batch', async () => {
    expect(await embedder().embedDocuments([])).toEqual([]);
    expect(fake.requests).toHaveLength(0);
  });

  it('learns unconfigured dimensions from the first response, and probes them on demand', async () => {
    fake.setDimensions(6);
    const client = embedder();
    expect(() => client.dimensions).toThrow(/not known before its first response/);
    expect(await client.probeDimensions()).toBe(6);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].body.dimensions).toBeUndefined();
    expect(client.dimensions).toBe(6);
    expect(await client.probeDimensions()).toBe(6);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects vectors whose length differs from the configured dimensions, naming both', async () => {
    fake.setDimensions(3);
    await expect(embedder({ dimensions: 4 }).embedDocuments(['x'])).rejects.toThrow(
      /returned a vector of 3 dimensions for text #0, expected 4 \(configured\)/,
    );
  });

  it('rejects a later vector that disagrees with the learned dimensions', async () => {
    const client = embedder();
    await client.embedQuery('first');
    fake.script.push({ data: [{ embedding: [1, 2, 3, 4, 5], index: 0 }] });
    await expect(client.embedQuery('second')).rejects.toThrow(
      /returned a vector of 5 dimensions for text #0, expected 4 \(learned from its first response\)/,
    );
  });

  it('rejects a response with fewer vectors than inputs', async () => {
    fake.script.push({ data: [{ embedding: [1, 2, 3, 4], index: 0 }] });
    await expect(embedder().embedDocuments(['a', 'b'])).rejects.toThrow(/returned 1 embeddings for 2 inputs/);
  });

  it('reports a server error with the model and endpoint', async () => {
    fake.script.push({ status: 500 });
    await expect(embedder().embedDocuments(['a'])).rejects.toThrow(
      new RegExp(`embedding with model "test-embed" at ${baseUrl} failed: .*scripted failure 500`),
    );
  });

  it('retries a failed request up to maxRetries', async () => {
    fake.script.push({ status: 503 });
    expect(await embedder({ maxRetries: 1 }).embedQuery('again')).toEqual(vectorFor('again', 4));
    expect(fake.requests).toHaveLength(2);
  });

  it('gives up on a server that does not answer within timeoutMs', async () => {
    fake.script.push({ hang: true });
    const started = performance.now();
    await expect(embedder({ timeoutMs: 200 }).embedQuery('slow')).rejects.toThrow(/failed/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('needs no API key for a local server, but does for the OpenAI API', async () => {
    await new OpenAIEmbedder({ model: 'test-embed', baseUrl, maxRetries: 0 }).embedQuery('q');
    expect(fake.requests[0].headers.authorization).toMatch(/^Bearer /);
    expect(() => new OpenAIEmbedder({ model: 'text-embedding-3-small' })).toThrow(/apiKey is required/);
  });

  it('validates its options', () => {
    expect(() => new OpenAIEmbedder({ model: '', baseUrl })).toThrow(/model name is required/);
    expect(() => new OpenAIEmbedder({ model: 'm', baseUrl, dimensions: 0 })).toThrow(/positive integer/);
  });
});
