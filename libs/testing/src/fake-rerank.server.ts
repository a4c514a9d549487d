import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A fake cross-encoder rerank server: real HTTP on 127.0.0.1, speaking both dialects ragnest uses, TEI's
 * `POST /rerank` and the Cohere/Jina-style `POST /v1/rerank`. Each request takes the next scripted reply
 * (the last one repeats). By default a document's score is its lexical overlap with the query
 * (`lexicalOverlap`), so a test can predict the order; a reply can instead give the scores, delay,
 * fail with a status, or send a raw (malformed) body. Every request is recorded, failed ones included.
 */
export interface FakeRerankReply {
  /** HTTP status, 200 by default; any other gets a JSON error body (or `body`). */
  status?: number;
  /** Scores in request order, or a function of each document; default `lexicalOverlap`. */
  scores?: number[] | ((query: string, document: string, index: number) => number);
  /** Sent as it is instead of a computed reply: for malformed replies. */
  body?: string;
  /** Message of the error body of a non-200 reply. */
  message?: string;
  /** Waits this long before answering. */
  delayMs?: number;
}

export type FakeRerankDialect = 'tei' | 'cohere';

export interface FakeRerankRequest {
  at: number;
  dialect: FakeRerankDialect;
  authorization?: string;
  query: string;
  documents: string[];
  /** Cohere dialect only. */
  model?: string;
  topN?: number;
  /** The request body as received. */
  body: Record<string, unknown>;
}

const PATHS: Record<string, FakeRerankDialect> = { '/rerank': 'tei', '/v1/rerank': 'cohere' };

/** The share of the query's distinct words that occur in the document, in [0, 1]. */
export function lexicalOverlap(query: string, document: string): number {
  const words = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const asked = words(query);
  if (asked.size === 0) return 0;
  const present = words(document);
  let shared = 0;
  for (const word of asked) if (present.has(word)) shared++;
  return shared / asked.size;
}

export class FakeRerankServer {
  readonly requests: FakeRerankRequest[] = [];
  /** The server's root: TEI's `/rerank` and the Cohere-style `/v1/rerank` are under it. */
  baseUrl = '';
  private script: FakeRerankReply[] = [{}];
  private server?: Server;

  /** Replies for the next requests, in order; the last one then repeats. */
  reply(...script: FakeRerankReply[]): void {
    this.script = script.length > 0 ? script : [{}];
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    // Delayed replies would otherwise hold the close until they are sent.
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const dialect = PATHS[req.url ?? ''];
    if (req.method !== 'POST' || !dialect)
      return send(res, 404, { error: `no route for ${req.method} ${req.url}` });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(res, 400, { error: 'the body is not JSON' });
    }
    const documents = dialect === 'tei' ? body.texts : body.documents;
    const strings = (value: unknown): value is string[] =>
      Array.isArray(value) && value.every((v) => typeof v === 'string');
    if (typeof body.query !== 'string' || !strings(documents) || (dialect === 'cohere' && !body.model)) {
      const fields = dialect === 'tei' ? 'query and texts' : 'model, query and documents';
      return send(res, 422, { error: `${fields} are required`, error_type: 'Validation' });
    }
    const topN = typeof body.top_n === 'number' ? body.top_n : undefined;
    this.requests.push({
      at: Date.now(),
      dialect,
      authorization: req.headers.authorization,
      query: body.query,
      documents,
      model: typeof body.model === 'string' ? body.model : undefined,
      topN,
      body,
    });
    const reply = this.script.length > 1 ? this.script.shift()! : this.script[0];
    if (reply.delayMs) await sleep(reply.delayMs);
    // The client gave up while the reply was delayed: nobody is left to answer.
    if (res.destroyed) return;
    const status = reply.status ?? 200;
    if (reply.body !== undefined) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(reply.body);
      return;
    }
    if (status !== 200) return send(res, status, { error: reply.message ?? `scripted ${status}` });
    const query = body.query;
    const given = reply.scores;
    if (Array.isArray(given) && given.length !== documents.length) {
      return send(res, 500, {
        error: `fake: ${given.length} scores scripted for ${documents.length} documents`,
      });
    }
    const scored = documents
      .map((document, index) => ({
        index,
        score: Array.isArray(given)
          ? given[index]
          : (given ?? ((q: string, d: string) => lexicalOverlap(q, d)))(query, document, index),
      }))
      .sort((a, b) => b.score - a.score || a.index - b.index);
    if (dialect === 'tei') return send(res, 200, scored);
    send(res, 200, {
      id: `fake-${this.requests.length}`,
      results: scored
        .slice(0, topN ?? scored.length)
        .map(({ index, score }) => ({ index, relevance_score: score })),
      meta: { billed_units: { search_units: 1 } },
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
