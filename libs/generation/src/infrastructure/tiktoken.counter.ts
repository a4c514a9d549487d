/**
 * Token counts for the context budget, by OpenAI's cl100k_base BPE. The ranks ship inside js-tiktoken,
 * so counting works offline (LangChain's own helper downloads them at first use).
 */
import { Tiktoken } from 'js-tiktoken/lite';
import cl100kBase from 'js-tiktoken/ranks/cl100k_base';
import type { TokenCounter } from '../domain/grounded-prompt.js';

/** Special-token text in a document ("<|endoftext|>") is counted as the plain text it is, not refused. */
const NO_SPECIAL_TOKENS: string[] = [];

export class TiktokenCounter implements TokenCounter {
  // Decoding the ranks takes a noticeable moment, so it is done once, on first use.
  private static encoder?: Tiktoken;

  private get encoder(): Tiktoken {
    return (TiktokenCounter.encoder ??= new Tiktoken(cl100kBase));
  }

  count(text: string): number {
    return this.encode(text).length;
  }

  truncate(text: string, maxTokens: number): string {
    const tokens = this.encode(text);
    if (tokens.length <= maxTokens) return text;
    // A cut inside a multi-byte character decodes to a replacement character: drop it.
    return this.encoder.decode(tokens.slice(0, Math.max(0, maxTokens))).replace(/\uFFFD+$/, '');
  }

  private encode(text: string): number[] {
    return this.encoder.encode(text, NO_SPECIAL_TOKENS, NO_SPECIAL_TOKENS);
  }
}
