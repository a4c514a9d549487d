/**
 * Generation by Ollama's native chat API (`/api/chat`). Unlike its OpenAI-compatible `/v1`, the native
 * API takes the context window per request (`num_ctx`): without it Ollama silently cuts long prompts to
 * its small default window.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk } from '@langchain/core/messages';
import { ChatOllama } from '@langchain/ollama';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChatModelGenerator, type ChatGeneratorOptions } from './chat-model.generator.js';

export interface OllamaChatGeneratorOptions extends ChatGeneratorOptions {
  /** The server root, e.g. `http://localhost:11434` (no `/v1`); that one when absent. */
  baseUrl?: string;
}

const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';
/** Back-off before the first retry, doubled for each next one, when the server sends no Retry-After. */
const RETRY_BASE_DELAY_MS = 1000;
/** A server asking for a longer wait is busy for longer than a question can wait. */
const MAX_RETRY_AFTER_MS = 60_000;

export class OllamaChatGenerator extends ChatModelGenerator {
  private readonly baseUrl: string;
  private readonly temperature: number;
  private readonly maxRetries: number;

  constructor(options: OllamaChatGeneratorOptions) {
    super(options);
    this.baseUrl = options.baseUrl ?? DEFAULT_OLLAMA_URL;
    this.temperature = options.temperature ?? 0;
    this.maxRetries = options.maxRetries ?? 2;
  }

  /**
   * A client per call: LangChain's Ollama model neither passes the call's signal to its requests nor
   * retries them, and its only way to stop a stream aborts every stream of the client. Its `fetch`
   * hook gives each call both.
   */
  protected chatModel(signal: AbortSignal): BaseChatModel {
    return new ChatOllama({
      model: this.model,
      baseUrl: this.baseUrl,
      temperature: this.temperature,
      numPredict: this.maxTokens,
      numCtx: this.contextTokens,
      fetch: (input, init) =>
        retryingFetch(input, { ...init, signal: withSignal(init?.signal, signal) }, this.maxRetries),
    });
  }

  /** LangChain ends the stream with a chunk carrying Ollama's final `"done": true` line. */
  protected isLastChunk(chunk: AIMessageChunk): boolean {
    return chunk.response_metadata.done === true;
  }
}

function withSignal(own: AbortSignal | null | undefined, call: AbortSignal): AbortSignal {
  return own ? AbortSignal.any([own, call]) : call;
}

/**
 * Retries 429 and 5xx replies and unreachable servers, honouring Retry-After, until the signal ends it.
 * By hand rather than cockatiel's retry: its wait between attempts (cockatiel 3.2) is a timer the call's
 * signal cannot end, so a deadline or a client gone would be held up to a whole Retry-After.
 */
async function retryingFetch(
  input: string | URL | Request,
  init: RequestInit & { signal: AbortSignal },
  maxRetries: number,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let wait: number | undefined;
    try {
      const response = await fetch(input, init);
      if (attempt >= maxRetries || !(response.status === 429 || response.status >= 500)) return response;
      wait = retryAfterMs(response.headers.get('retry-after'));
      if (wait !== undefined && wait > MAX_RETRY_AFTER_MS) return response;
      await response.body?.cancel();
    } catch (error) {
      if (attempt >= maxRetries || init.signal.aborted) throw error;
    }
    // Jittered, so that callers turned away together do not all come back together.
    const backoff = RETRY_BASE_DELAY_MS * 2 ** attempt * (1 + Math.random());
    await sleep(Math.max(wait ?? 0, backoff), undefined, { signal: init.signal });
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
