import { describe, expect, it } from 'vitest';
import { AppError, HISTORY_MAX_TURNS, HISTORY_TURN_MAX_CHARS } from '#contracts';
import { collectionOfModel, MODEL_NOT_FOUND, toQueryBody } from './chat-request.js';
import { openAiErrorBody } from './openai-error.js';

const user = (content: string) => ({ role: 'user' as const, content });
const assistant = (content: string) => ({ role: 'assistant' as const, content });

describe('chat completion request as a query', () => {
  it('reads the model as a collection, with or without the ragnest/ prefix', () => {
    expect(collectionOfModel('facts')).toBe('facts');
    expect(collectionOfModel('ragnest/facts')).toBe('facts');
    expect(() => collectionOfModel('gpt-4o/mini')).toThrow(
      expect.objectContaining({ code: MODEL_NOT_FOUND }),
    );
  });

  it('makes the last user message the question and the user and assistant turns before it the history', () => {
    const query = toQueryBody(
      'facts',
      {
        model: 'facts',
        messages: [
          { role: 'system', content: 'Be brief.' },
          user('Tell me about aspirin.'),
          assistant('Aspirin is a drug [1].'),
          { role: 'tool', content: '{}' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Does it help' },
              { type: 'text', text: 'the heart?' },
            ],
          },
        ],
        ragnest: { topK: 3, mode: 'sparse' },
      },
      true,
    );
    expect(query).toMatchObject({
      collection: 'facts',
      query: 'Does it help\nthe heart?',
      stream: true,
      topK: 3,
      mode: 'sparse',
      history: [user('Tell me about aspirin.'), assistant('Aspirin is a drug [1].')],
    });
  });

  it('keeps the latest turns of a long chat, each cut to the length a turn may have', () => {
    const turns = Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0 ? user(`q${i}`) : assistant('a'.repeat(20_000)),
    );
    const query = toQueryBody('facts', { model: 'facts', messages: [...turns, user('last?')] }, false);
    expect(query.history).toHaveLength(HISTORY_MAX_TURNS);
    expect(query.history!.at(-1)!.content).toHaveLength(HISTORY_TURN_MAX_CHARS);
    expect(query.history![0]).toEqual(user('q30'));
  });

  it('names `messages` when the question is not one ragnest can take', () => {
    const refused = (messages: Parameters<typeof toQueryBody>[1]['messages']) => {
      try {
        toQueryBody('facts', { model: 'facts', messages }, false);
      } catch (error) {
        return openAiErrorBody(error as AppError).error;
      }
      throw new Error('accepted');
    };
    expect(refused([assistant('hi')])).toMatchObject({ param: 'messages', message: /last message/ });
    expect(refused([user('')])).toMatchObject({ param: 'messages', message: /query: must not be empty/ });
    expect(refused([user('x'.repeat(5000))])).toMatchObject({
      param: 'messages',
      type: 'invalid_request_error',
    });
  });
});
