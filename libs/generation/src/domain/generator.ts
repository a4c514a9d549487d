import type { GenerateRequest, GenerateResponse } from '#contracts';

/** The generation port: turns a question and its numbered sources into an answer citing them as [n]. */
export interface Generator {
  readonly model: string;
  generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResponse>;
}

export const GENERATOR = Symbol('Generator');

/** Shared by every generator so that callers see the same wording whichever model answered. */
export const NO_SOURCES_ANSWER = 'No sources were found for this question.';
export const UNANSWERABLE_ANSWER = 'The sources do not contain an answer to this question.';
