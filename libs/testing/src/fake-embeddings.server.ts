import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake OpenAI-compatible embeddings server: real HTTP on 127.0.0.1, scripted answers. Each request
 * takes the next scripted reply (the last one repeats); vectors are deterministic per input text.
 */
/** A 200 may give vectors of another size than the server's (a model that is not the one configured). */
export type FakeReply =
  { status: 200; dimensions?: number } | { status: number; retryAfterSeconds?: number; message?: string };

export class FakeEmbeddingsServer {
  readonly requests: { at: number; inputs: string[] }[] = [];
  private script: FakeReply[] = [{ status: 200 }];
  private server?: Server;
  baseUrl = '';

  constructor(readonly dimensions: number) {}

  /** Replies for the next requests, in order; the last one then repeats. */
  reply(...script: FakeReply[]): void {
    this.script = script;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const input = (JSON.parse(body || '{}') as { input?: string | string[] }).input ?? [];
    const inputs = Array.isArray(input) ? input : [input];
    this.requests.push({ at: Date.now(), inputs });
    const reply = this.script.length > 1 ? this.script.shift()! : this.script[0];
    if (reply.status !== 200) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if ('retryAfterSeconds' in reply && reply.retryAfterSeconds !== undefined)
        headers['retry-after'] = String(reply.retryAfterSeconds);
      res.writeHead(reply.status, headers);
      res.end(
        JSON.stringify({
          error: {
            message: ('message' in reply && reply.message) || `scripted ${reply.status}`,
            type: 'scripted',
          },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        model: 'fake',
        data: inputs.map((text, index) => ({
          object: 'embedding',
          index,
          embedding: this.vector(text, ('dimensions' in reply && reply.dimensions) || this.dimensions),
        })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      }),
    );
  }

  private vector(text: string, dimensions: number): number[] {
    const v = new Array<number>(dimensions).fill(0);
    for (let i = 0; i < text.length; i++) v[text.charCodeAt(i) % dimensions] += 1;
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  }
}
