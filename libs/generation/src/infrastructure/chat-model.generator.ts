/**
 * What every model-backed generator shares, whichever provider's LangChain chat model it drives: the
 * grounded prompt packed into the context window, one deadline over the whole call (retries and
 * streaming included), cancellation, and the checks that turn a broken reply into an error rather than
 * a wrong answer.
 */
import type { GenerateRequest, GenerateResponse } from '#contracts';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, SystemMessage, type AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { NO_SOURCES_ANSWER } from '#contracts';
import { GenerationError, type Generator } from '../domain/generator.js';
import { buildGroundedPrompt, type TokenCounter } from '../domain/grounded-prompt.js';
import { TiktokenCounter } from './tiktoken.counter.js';

/** What every provider takes besides its own connection settings. */
export interface ChatGeneratorOptions {
  model: string;
  /** Sampling temperature; 0 by default, as grounded answers should not vary between identical requests. */
  temperature?: number;
  /** The output limit sent to the model, and held back from the context window for the answer. */
  maxTokens?: number;
  /** The model's context window in tokens: the prompt is packed to fit it (default 8192). */
  contextTokens?: number;
  /** Bounds the whole call, retries and streaming included; none by default. */
  timeoutMs?: number;
  /** Retries of rate-limited (429, Retry-After honoured), failed (5xx) or unreachable calls; default 2. */
  maxRetries?: number;
  /** cl100k_base by default. */
  tokenCounter?: TokenCounter;
}

const DEFAULT_CONTEXT_TOKENS = 8192;
const DEFAULT_MAX_TOKENS = 1024;

export abstract class ChatModelGenerator implements Generator {
  readonly model: string;
  protected readonly contextTokens: number;
  protected readonly maxTokens: number;
  private readonly timeoutMs?: number;
  private readonly counter: TokenCounter;

  protected constructor(options: ChatGeneratorOptions) {
    this.model = options.model;
    this.contextTokens = options.contextTokens ?? DEFAULT_CONTEXT_TOKENS;
    this.maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    this.timeoutMs = options.timeoutMs;
    this.counter = options.tokenCounter ?? new TiktokenCounter();
  }

  /** The LangChain model for one call; `signal` ends that call (the shared clients take it per request). */
  protected abstract chatModel(signal: AbortSignal): BaseChatModel;

  /** Whether this streamed piece carries the provider's end-of-reply marker. */
  protected abstract isLastChunk(chunk: AIMessageChunk): boolean;

  /**
   * The streamed answer, joined: one code path for both, so that a cut reply is caught the same way
   * (a JSON body cut mid-way would only fail to parse, a stream ended early would look complete).
   */
  async generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResponse> {
    let answer = '';
    for await (const piece of this.stream(request, signal)) answer += piece;
    return { answer: answer.trim(), model: this.model };
  }

  async *stream(request: GenerateRequest, signal?: AbortSignal): AsyncGenerator<string> {
    signal?.throwIfAborted();
    // Nothing to ground an answer in: asking the model would only invite it to make one up.
    if (request.sources.length === 0) {
      yield NO_SOURCES_ANSWER;
      return;
    }
    const messages = this.messages(request);
    const call = new ModelCall(this.model, signal, this.timeoutMs);
    let receiving = false;
    let started = false;
    let finished = false;
    try {
      // LangChain races every read against the signal, so a cancelled call settles at once, even while
      // its client sleeps between retries.
      const chunks = await this.chatModel(call.signal).stream(messages, { signal: call.signal });
      for await (const chunk of chunks) {
        receiving = true;
        finished ||= this.isLastChunk(chunk);
        // Models often open with white space; the answer starts at its first visible character.
        const text = started ? chunk.text : chunk.text.trimStart();
        if (text === '') continue;
        started = true;
        yield text;
      }
    } catch (error) {
      throw call.explain(error, receiving);
    } finally {
      // Also reached when the consumer stops reading early: the model call must not run on unread.
      call.end();
    }
    if (!finished) {
      throw new GenerationError(
        'incomplete-answer',
        `${this.model}'s reply ended before the model finished it`,
      );
    }
    if (!started) throw new GenerationError('empty-answer', `${this.model} replied with no text`);
  }

  private messages(request: GenerateRequest): BaseMessage[] {
    const prompt = buildGroundedPrompt(request, {
      contextTokens: this.contextTokens,
      maxOutputTokens: this.maxTokens,
      counter: this.counter,
    });
    return [new SystemMessage(prompt.system), new HumanMessage(prompt.user)];
  }
}

/** One model call's cancellation: the caller's signal, the deadline, and our own abort when done. */
class ModelCall {
  readonly signal: AbortSignal;
  private readonly done = new AbortController();
  private readonly deadline?: AbortSignal;

  constructor(
    private readonly model: string,
    private readonly caller: AbortSignal | undefined,
    private readonly timeoutMs: number | undefined,
  ) {
    this.deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
    const signals = [this.done.signal, caller, this.deadline].filter((s) => s !== undefined);
    this.signal = AbortSignal.any(signals);
  }

  /**
   * Our deadline's expiry reads as a timeout and the caller's abort stays an abort. Any other failure
   * once the reply had begun (a cut connection reads as a bare "terminated") is an incomplete answer;
   * before it, the client's own error (HTTP status, rate limit) says more.
   */
  explain(error: unknown, replyBegun: boolean): unknown {
    if (error instanceof GenerationError || this.caller?.aborted) return error;
    if (this.deadline?.aborted) {
      return new GenerationError(
        'timeout',
        `${this.model} gave no complete answer within ${this.timeoutMs} ms`,
      );
    }
    if (replyBegun) {
      const why = error instanceof Error ? error.message : String(error);
      return new GenerationError('incomplete-answer', `${this.model}'s reply broke off: ${why}`, {
        cause: error,
      });
    }
    return error;
  }

  end(): void {
    this.done.abort();
  }
}
