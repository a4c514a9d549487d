import { randomUUID } from 'node:crypto';
import type { Citation, QueryResponse } from '#contracts';

/**
 * OpenAI's chat completion objects for a ragnest answer. The answer's text keeps its numbered markers
 * ([1], [2]); the sources they refer to travel in `citations`, an extra field (on the completion, and
 * on the last chunk of a stream), which OpenAI's clients pass through untouched.
 */

export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

export function completionIdentity(model: string): CompletionIdentity {
  return { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model };
}

export function chatCompletion(who: CompletionIdentity, response: QueryResponse) {
  return {
    ...who,
    object: 'chat.completion' as const,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: response.answer, refusal: null },
        logprobs: null,
        finish_reason: 'stop' as const,
      },
    ],
    citations: response.citations,
    degraded: response.degraded,
    request_id: response.requestId,
  };
}

type Delta = { role?: 'assistant'; content?: string };

export function chatChunk(
  who: CompletionIdentity,
  delta: Delta,
  end?: { citations: Citation[]; degraded: string[]; requestId: string },
) {
  return {
    ...who,
    object: 'chat.completion.chunk' as const,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: end ? ('stop' as const) : null }],
    ...(end ? { citations: end.citations, degraded: end.degraded, request_id: end.requestId } : {}),
  };
}

/** One server-sent event as OpenAI sends them: a `data:` line only. */
export function dataFrame(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}
