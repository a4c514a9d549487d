import type { GenerateRequest, GenerateResponse } from '#contracts';

/** The generation port: turns a question and its numbered sources into an answer citing them as [n]. */
export interface Generator {
  readonly model: string;
  generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResponse>;
  /**
   * The same answer as the model produces it, in pieces; their concatenation is what `generate` returns
   * (before trimming of trailing white space). Aborting the signal, or leaving the loop early, cancels
   * the model call. A reply that ends before the model finished is an error, never a short answer.
   */
  stream(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<string>;
}

export const GENERATOR = Symbol('Generator');

export type GenerationFailure =
  /** The model replied with no text: a malfunction, not a finding that the sources lack the answer. */
  | 'empty-answer'
  /** The reply stopped before the model said it was done: a connection cut mid-stream, or no end marker. */
  | 'incomplete-answer'
  /** No complete answer within the generation timeout. */
  | 'timeout'
  /** The question alone leaves no room for any source in the model's context window. */
  | 'context-window';

/**
 * A model call that produced no usable answer. Rate limits and server errors that outlast the retries
 * surface as the provider client's own errors; these are the failures a provider would not report.
 */
export class GenerationError extends Error {
  constructor(
    readonly reason: GenerationFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GenerationError';
  }
}
