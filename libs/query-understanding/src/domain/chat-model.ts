import type { PromptMessage } from './rewrite-prompts.js';

/** The LLM as query understanding uses it: messages in, the reply's text out, stopped by the signal. */
export interface ChatModel {
  complete(messages: PromptMessage[], signal: AbortSignal): Promise<string>;
}

/** Null when no LLM is configured that query understanding can use. */
export const CHAT_MODEL = Symbol('QueryUnderstandingChatModel');
