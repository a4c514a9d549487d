import { z } from 'zod';
import { Filter } from '../filter.js';
import { SearchMode } from './common.dto.js';
import { QueryExpansion } from './query-understanding.dto.js';

/**
 * The OpenAI-compatible chat endpoint's body (`POST /v1/chat/completions`): OpenAI's own shape. The
 * fields ragnest reads are checked; the many others chat clients send (temperature, max_tokens, user,
 * tools, …) are accepted and ignored, as the model here is a collection, not a sampler.
 */

export const OPENAI_MODEL_PREFIX = 'ragnest/';

/** A message's content: text, or parts of which ragnest reads the text ones. */
export const ChatContentPart = z.looseObject({ type: z.string().max(100), text: z.string().optional() });

export const ChatCompletionMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(ChatContentPart).max(1000), z.null()]).optional(),
});
export type ChatCompletionMessage = z.infer<typeof ChatCompletionMessage>;

export const ChatCompletionBody = z.looseObject({
  model: z.string().min(1).max(300).describe('a collection, as `<collection>` or `ragnest/<collection>`'),
  messages: z.array(ChatCompletionMessage).min(1).max(1000),
  stream: z.boolean().nullish(),
  /** ragnest's own knobs, for clients that can send extra body fields (the OpenAI SDKs' `extra_body`). */
  ragnest: z
    .object({
      topK: z.number().int().min(1).max(50).optional(),
      mode: SearchMode.optional(),
      filter: Filter.optional(),
      expand: QueryExpansion.optional(),
    })
    .strict()
    .optional(),
});
export type ChatCompletionBody = z.infer<typeof ChatCompletionBody>;
