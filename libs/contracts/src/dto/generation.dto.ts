import { z } from 'zod';
import { QueryText } from './schema-rules.js';

/** Generation's published language: a question and its numbered sources in, an answer citing them out. */

export const GenerationSource = z.object({
  index: z.number().int().min(1),
  title: z.string().nullable(),
  text: z.string(),
});
export type GenerationSource = z.infer<typeof GenerationSource>;

export const GenerateRequest = z
  .object({ query: QueryText, sources: z.array(GenerationSource).max(100) })
  .strict();
export type GenerateRequest = z.infer<typeof GenerateRequest>;

export interface GenerateResponse {
  answer: string;
  model: string;
}
