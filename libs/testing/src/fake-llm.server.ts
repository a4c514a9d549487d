import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A fake chat-model server: real HTTP on 127.0.0.1 speaking three wire protocols, so that every
 * generation provider is tested end to end with no network. `POST /v1/chat/completions` is OpenAI's
 * (JSON, or SSE chunks ending with `data: [DONE]`), `POST /v1/messages` Anthropic's (JSON, or SSE with
 * message_start … message_stop events) and `POST /api/chat` Ollama's native one (NDJSON stream by
 * default, one JSON object with `"stream":false`). Each request takes the next scripted reply, whatever
 * its protocol; with none left it gets a 500 that says so, so a test that under-scripts fails loudly.
 */
export type LlmProtocol = 'openai' | 'anthropic' | 'ollama';

interface Timing {
  /** Wait before the first token (for a JSON reply: before the whole body). */
  firstTokenDelayMs?: number;
  /** Wait before each following token. */
  tokenDelayMs?: number;
}

export type FakeLlmReply =
  | ({ kind: 'text'; tokens: string[] } & Timing)
  /** The first `after` tokens are sent, then the socket is destroyed (a JSON reply is cut mid-body). */
  | ({ kind: 'cut'; tokens: string[]; after: number } & Timing)
  /**
   * The first `after` tokens are sent, then the reply ends properly but without the protocol's end
   * marker, as a proxy that gives up might (a JSON reply ends mid-body).
   */
  | ({ kind: 'unfinished'; tokens: string[]; after: number } & Timing)
  | { kind: 'error'; status: number; retryAfterSeconds?: number; message?: string }
  /** Never answers, not even with headers. */
  | { kind: 'hang' };

/** Builders for scripted replies. A string is split into word pieces ("It ", "was ", "built."). */
export const llmReply = {
  text: (text: string | string[], timing: Timing = {}): FakeLlmReply => ({
    kind: 'text',
    tokens: toTokens(text),
    ...timing,
  }),
  cut: (text: string | string[], after: number, timing: Timing = {}): FakeLlmReply => ({
    kind: 'cut',
    tokens: toTokens(text),
    after,
    ...timing,
  }),
  unfinished: (text: string | string[], after: number, timing: Timing = {}): FakeLlmReply => ({
    kind: 'unfinished',
    tokens: toTokens(text),
    after,
    ...timing,
  }),
  error: (status: number, options: { retryAfterSeconds?: number; message?: string } = {}): FakeLlmReply => ({
    kind: 'error',
    status,
    ...options,
  }),
  hang: (): FakeLlmReply => ({ kind: 'hang' }),
};

export interface RecordedLlmRequest {
  protocol: LlmProtocol;
  headers: IncomingMessage['headers'];
  body: Record<string, any>;
  streamed: boolean;
  at: number;
  /** True once the client has closed the connection before the reply was complete. */
  closedEarly: boolean;
  /** True once the reply has been written to the end. */
  completed: boolean;
}

const ROUTES: Record<string, LlmProtocol> = {
  '/v1/chat/completions': 'openai',
  '/v1/messages': 'anthropic',
  '/api/chat': 'ollama',
};
const MODEL = 'fake-llm';

export class FakeLlmServer {
  readonly requests: RecordedLlmRequest[] = [];
  private readonly script: FakeLlmReply[] = [];
  private server?: Server;
  /** The server root, e.g. `http://127.0.0.1:1234`: Anthropic's and Ollama's base URL. */
  url = '';

  /** OpenAI-compatible clients take the API root, `/v1` included. */
  get openaiBaseUrl(): string {
    return `${this.url}/v1`;
  }

  /** The settings that point ragnest's generator at this server over the OpenAI protocol, retrying nothing. */
  get openaiEnv(): Record<string, string> {
    return {
      LLM_PROVIDER: 'openai',
      LLM_MODEL: MODEL,
      LLM_BASE_URL: this.openaiBaseUrl,
      LLM_API_KEY: 'test',
      LLM_MAX_RETRIES: '0',
    };
  }

  /** Queues replies for the next requests, in order. */
  reply(...replies: FakeLlmReply[]): this {
    this.script.push(...replies);
    return this;
  }

  /** Forgets scripted replies and recorded requests, between tests. */
  reset(): void {
    this.script.length = 0;
    this.requests.length = 0;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    // Hanging replies hold their connections open for ever; close() alone would wait on them.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const protocol = req.method === 'POST' ? ROUTES[(req.url ?? '').split('?')[0]] : undefined;
    if (!protocol) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `fake LLM server: no route ${req.method} ${req.url}` }));
      return;
    }
    let body: Record<string, any>;
    try {
      body = JSON.parse(raw || '{}') as Record<string, any>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'fake LLM server: the request body is not JSON' }));
      return;
    }
    const recorded: RecordedLlmRequest = {
      protocol,
      headers: req.headers,
      body,
      // Ollama streams unless told not to; the others only when asked.
      streamed: protocol === 'ollama' ? body.stream !== false : body.stream === true,
      at: Date.now(),
      closedEarly: false,
      completed: false,
    };
    this.requests.push(recorded);
    let cutByServer = false;
    const cut = () => {
      cutByServer = true;
      res.socket?.destroy();
    };
    res.on('finish', () => (recorded.completed = true));
    res.on('close', () => {
      if (!res.writableFinished && !cutByServer) recorded.closedEarly = true;
    });
    const reply =
      this.script.shift() ??
      llmReply.error(500, { message: 'fake LLM server: no scripted reply left for this request' });
    const wire = WIRES[protocol];
    switch (reply.kind) {
      case 'hang':
        return;
      case 'error': {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (reply.retryAfterSeconds !== undefined) headers['retry-after'] = String(reply.retryAfterSeconds);
        res.writeHead(reply.status, headers);
        res.end(JSON.stringify(wire.error(reply.status, reply.message ?? `scripted ${reply.status}`)));
        return;
      }
      default: {
        const cutAfter = reply.kind === 'text' ? undefined : reply.after;
        const stop = reply.kind === 'cut' ? cut : () => res.end();
        if (recorded.streamed) await this.stream(res, wire, reply, cutAfter, stop);
        else await this.json(res, wire, reply, cutAfter, stop);
      }
    }
  }

  private async stream(
    res: ServerResponse,
    wire: Wire,
    reply: Timed,
    cutAfter: number | undefined,
    stop: () => void,
  ): Promise<void> {
    res.writeHead(200, { 'content-type': wire.streamContentType, 'cache-control': 'no-cache' });
    res.flushHeaders();
    const send = (events: string[]) => events.forEach((e) => res.write(e));
    send(wire.streamStart());
    for (let i = 0; i < reply.tokens.length; i++) {
      // A stop comes when the next token would have, so what was sent before it has reached the client.
      await sleep((i === 0 ? reply.firstTokenDelayMs : reply.tokenDelayMs) ?? 0);
      if (res.destroyed) return;
      if (i === cutAfter) return stop();
      send(wire.streamToken(reply.tokens[i]));
    }
    if (cutAfter !== undefined) return stop();
    send(wire.streamEnd(reply.tokens.length));
    res.end();
  }

  private async json(
    res: ServerResponse,
    wire: Wire,
    reply: Timed,
    cutAfter: number | undefined,
    stop: () => void,
  ): Promise<void> {
    const delay = (reply.firstTokenDelayMs ?? 0) + (reply.tokenDelayMs ?? 0) * (reply.tokens.length - 1);
    await sleep(Math.max(0, delay));
    if (res.destroyed) return;
    const body = JSON.stringify(wire.complete(reply.tokens.join(''), reply.tokens.length));
    res.writeHead(200, { 'content-type': 'application/json' });
    if (cutAfter === undefined) {
      res.end(body);
      return;
    }
    // Half a JSON document: the client sees a broken reply, never a short but well-formed one.
    res.write(body.slice(0, Math.floor(body.length / 2)));
    setImmediate(stop);
  }
}

type Timed = Timing & { tokens: string[] };

function toTokens(text: string | string[]): string[] {
  return typeof text === 'string' ? (text.match(/\s*\S+\s*/g) ?? []) : text;
}

interface Wire {
  streamContentType: string;
  streamStart(): string[];
  streamToken(text: string): string[];
  streamEnd(outputTokens: number): string[];
  complete(text: string, outputTokens: number): unknown;
  error(status: number, message: string): unknown;
}

const sse = (data: unknown, event?: string) =>
  `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const PROMPT_TOKENS = 10;
const CREATED = 1_700_000_000;

const openaiChunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
  id: 'chatcmpl-fake',
  object: 'chat.completion.chunk',
  created: CREATED,
  model: MODEL,
  choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
});

const openai: Wire = {
  streamContentType: 'text/event-stream',
  streamStart: () => [sse(openaiChunk({ role: 'assistant', content: '' }))],
  streamToken: (text) => [sse(openaiChunk({ content: text }))],
  streamEnd: (outputTokens) => [
    sse(openaiChunk({}, 'stop')),
    sse({
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: CREATED,
      model: MODEL,
      choices: [],
      usage: {
        prompt_tokens: PROMPT_TOKENS,
        completion_tokens: outputTokens,
        total_tokens: PROMPT_TOKENS + outputTokens,
      },
    }),
    sse('[DONE]'),
  ],
  complete: (content, outputTokens) => ({
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
    usage: {
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: outputTokens,
      total_tokens: PROMPT_TOKENS + outputTokens,
    },
  }),
  error: (status, message) => ({
    error: { message, type: status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null },
  }),
};

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

const anthropic: Wire = {
  streamContentType: 'text/event-stream',
  streamStart: () => [
    sse(
      {
        type: 'message_start',
        message: {
          id: 'msg_fake',
          type: 'message',
          role: 'assistant',
          model: MODEL,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: PROMPT_TOKENS, output_tokens: 1 },
        },
      },
      'message_start',
    ),
    sse(
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      'content_block_start',
    ),
    sse({ type: 'ping' }, 'ping'),
  ],
  streamToken: (text) => [
    sse(
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
      'content_block_delta',
    ),
  ],
  streamEnd: (outputTokens) => [
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse(
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: outputTokens },
      },
      'message_delta',
    ),
    sse({ type: 'message_stop' }, 'message_stop'),
  ],
  complete: (text, outputTokens) => ({
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model: MODEL,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: PROMPT_TOKENS, output_tokens: outputTokens },
  }),
  error: (status, message) => ({
    type: 'error',
    error: { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message },
  }),
};

const ollamaLine = (content: string, done: boolean, outputTokens = 0) =>
  `${JSON.stringify({
    model: MODEL,
    created_at: new Date(CREATED * 1000).toISOString(),
    message: { role: 'assistant', content },
    done,
    ...(done && {
      done_reason: 'stop',
      total_duration: 1_000_000,
      load_duration: 1000,
      prompt_eval_count: PROMPT_TOKENS,
      prompt_eval_duration: 1000,
      eval_count: outputTokens,
      eval_duration: 1000,
    }),
  })}\n`;

const ollama: Wire = {
  streamContentType: 'application/x-ndjson',
  streamStart: () => [],
  streamToken: (text) => [ollamaLine(text, false)],
  streamEnd: (outputTokens) => [ollamaLine('', true, outputTokens)],
  complete: (text, outputTokens) => JSON.parse(ollamaLine(text, true, outputTokens)),
  error: (_status, message) => ({ error: message }),
};

const WIRES: Record<LlmProtocol, Wire> = { openai, anthropic, ollama };
