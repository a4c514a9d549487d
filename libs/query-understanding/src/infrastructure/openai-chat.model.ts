/**
 * Query understanding's LLM: any OpenAI-compatible chat-completions server, through LangChain. Only the
 * `openai` provider is used here; with any other the rewriting steps are not available and the plain
 * question (or the rule-based condensing of a conversation) is searched.
 */
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import type { AppConfig } from '#platform';
import type { ChatModel } from '../domain/chat-model.js';
import type { PromptMessage } from '../domain/rewrite-prompts.js';

/** Enough for a passage of about 100 words, the longest reply asked for; longer ones are cut anyway. */
const MAX_REPLY_TOKENS = 400;
/** Local servers ignore the key, but the OpenAI client refuses to start without one. */
const KEYLESS_SERVER_API_KEY = 'not-needed';

export class OpenAIChatModel implements ChatModel {
  private readonly chat: ChatOpenAI;

  constructor(config: AppConfig['llm']) {
    this.chat = new ChatOpenAI({
      model: config.model,
      apiKey: config.apiKey ?? (config.baseUrl === undefined ? undefined : KEYLESS_SERVER_API_KEY),
      temperature: config.temperature,
      maxTokens: Math.min(config.maxTokens, MAX_REPLY_TOKENS),
      // No retries: every step has a fallback, and a question waiting on a failing model is worse than a
      // question searched without its rewriting.
      maxRetries: 0,
      configuration: config.baseUrl === undefined ? undefined : { baseURL: config.baseUrl },
    });
  }

  async complete(messages: PromptMessage[], signal: AbortSignal): Promise<string> {
    const reply = await this.chat.invoke(
      messages.map((m) => (m.role === 'system' ? new SystemMessage(m.content) : new HumanMessage(m.content))),
      { signal },
    );
    return reply.text;
  }
}
