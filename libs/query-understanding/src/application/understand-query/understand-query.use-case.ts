import { Inject, Injectable, Logger } from '@nestjs/common';
import { normalizeQuery, type UnderstandRequest, type UnderstoodQuery } from '#contracts';
import { CONFIG, RequestContext, type AppConfig } from '#platform';
import { CHAT_MODEL, type ChatModel } from '../../domain/chat-model.js';
import { condenseByRule } from '../../domain/condense-conversation.js';
import { detectLanguage } from '../../domain/detect-language.js';
import {
  condensePrompt,
  hydePrompt,
  multiQueryPrompt,
  parseHypotheticalPassage,
  parsePhrasings,
  parseStandaloneQuestion,
} from '../../domain/rewrite-prompts.js';

/** Phrasings searched when a request asks for multi-query while QUERY_MULTI_QUERY is 0. */
export const DEFAULT_PHRASINGS = 3;
/** Share of the call's time left that the LLM steps may use; the rest carries the reply back. */
const LLM_TIME_SHARE = 0.9;

/**
 * Understands a question: normalises it, makes it stand alone when it follows a conversation, tells its
 * language, and (when an LLM is configured and asked for) adds other phrasings of it and a hypothetical
 * answer passage for retrieval to search too. The LLM steps share the time this call has left; any of
 * them that fails, times out or replies with something unusable is replaced by the plain question (or
 * the rule-based condensing) and the result is marked degraded: understanding never fails a query.
 */
@Injectable()
export class UnderstandQueryUseCase {
  private readonly log = new Logger('UnderstandQuery');

  constructor(
    @Inject(CHAT_MODEL) private readonly chat: ChatModel | null,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async execute(request: UnderstandRequest): Promise<UnderstoodQuery> {
    const question = normalizeQuery(request.query);
    const history = request.history ?? [];
    const phrasings = this.phrasingsWanted(request);
    const hyde = request.expand?.hyde ?? this.config.queryUnderstanding.hyde;
    const chat = this.chat;
    if (!chat) {
      const text = history.length > 0 ? condenseByRule(history, question) : question;
      return { original: request.query, text, language: detectLanguage(text), queries: [text] };
    }

    const signal = AbortSignal.timeout(this.llmBudgetMs());
    let degraded = false;
    const attempt = async <T>(step: string, run: () => Promise<T | undefined>): Promise<T | undefined> => {
      try {
        // A step that has no time left is not started.
        signal.throwIfAborted();
        const result = await run();
        if (result === undefined) throw new Error('the reply could not be used');
        return result;
      } catch (error) {
        degraded = true;
        this.log.warn(`${step} failed, searching without it: ${(error as Error).message}`);
        return undefined;
      }
    };

    const text =
      history.length === 0
        ? question
        : ((await attempt('condensing', async () =>
            parseStandaloneQuestion(await chat.complete(condensePrompt(history, question), signal)),
          )) ?? condenseByRule(history, question));
    const [expansions, passage] = await Promise.all([
      phrasings === 0
        ? undefined
        : attempt('multi-query', async () => {
            const parsed = parsePhrasings(
              await chat.complete(multiQueryPrompt(text, phrasings), signal),
              text,
              phrasings,
            );
            return parsed.length > 0 ? parsed : undefined;
          }),
      hyde
        ? attempt('hyde', async () => parseHypotheticalPassage(await chat.complete(hydePrompt(text), signal)))
        : undefined,
    ]);
    return {
      original: request.query,
      text,
      language: detectLanguage(text),
      queries: [text, ...(expansions ?? [])],
      ...(passage === undefined ? {} : { hyde: passage }),
      ...(degraded ? { degraded } : {}),
    };
  }

  /** The request's choice, else the configured default; asking without a configured count gets 3. */
  private phrasingsWanted(request: UnderstandRequest): number {
    const configured = this.config.queryUnderstanding.multiQuery;
    const asked = request.expand?.multiQuery;
    if (asked === undefined) return configured;
    return asked ? configured || DEFAULT_PHRASINGS : 0;
  }

  /** What is left of this call's deadline (the caller's CALL_TIMEOUT_MS), less time for the reply. */
  private llmBudgetMs(): number {
    const left = Math.min(RequestContext.remainingMs(), this.config.callTimeoutMs);
    return Math.max(1, Math.floor(left * LLM_TIME_SHARE));
  }
}
