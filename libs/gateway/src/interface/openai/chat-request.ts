import {
  AppError,
  type ChatCompletionBody,
  type ChatCompletionMessage,
  type ChatTurn,
  COLLECTION_NAME,
  ErrorCode,
  HISTORY_MAX_TURNS,
  HISTORY_TURN_MAX_CHARS,
  OPENAI_MODEL_PREFIX,
  QueryBody,
} from '#contracts';
import { validate } from '#platform';

/** The error code OpenAI gives an unknown model, which chat clients recognise. */
export const MODEL_NOT_FOUND = 'GATEWAY.MODEL_NOT_FOUND';

/** The collection a model name selects: `<collection>` or `ragnest/<collection>`. */
export function collectionOfModel(model: string): string {
  const name = model.startsWith(OPENAI_MODEL_PREFIX) ? model.slice(OPENAI_MODEL_PREFIX.length) : model;
  if (!COLLECTION_NAME.test(name)) throw modelNotFound(model);
  return name;
}

export function modelNotFound(model: string): AppError {
  return new AppError(
    MODEL_NOT_FOUND,
    `The model "${model}" does not exist: a model is a collection, as "<collection>" or ` +
      `"${OPENAI_MODEL_PREFIX}<collection>" (GET /v1/models lists them)`,
    { param: 'model' },
  );
}

/**
 * A chat completion request as ragnest's query: the last message (the user's) is the question, the
 * user and assistant turns before it the history. System, developer and tool messages are left out:
 * ragnest's prompt is its own. A chat longer than the history ragnest reads keeps its latest turns,
 * each cut to the length a turn may have, so a long conversation goes on rather than failing.
 */
export function toQueryBody(collection: string, body: ChatCompletionBody, stream: boolean): QueryBody {
  const last = body.messages.at(-1)!;
  if (last.role !== 'user')
    throw invalid('messages', `the last message must be the user's question (it is the ${last.role}'s)`);
  const query = textOf(last, body.messages.length - 1);
  const history: ChatTurn[] = body.messages
    .slice(0, -1)
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => m.role === 'user' || m.role === 'assistant')
    .slice(-HISTORY_MAX_TURNS)
    .map(({ m, i }) => ({
      role: m.role as ChatTurn['role'],
      content: textOf(m, i).slice(0, HISTORY_TURN_MAX_CHARS),
    }));
  const request = {
    collection,
    query,
    stream,
    ...(body.ragnest ?? {}),
    ...(history.length > 0 ? { history } : {}),
  };
  try {
    return validate(QueryBody, request);
  } catch (error) {
    // The question and history come from `messages`: name that field, as the client sent it.
    if (error instanceof AppError) throw invalid('messages', error.message.replace(/^invalid body: /, ''));
    throw error;
  }
}

function textOf(message: ChatCompletionMessage, index: number): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content
    .map((part, p) => {
      if (part.type !== 'text' || typeof part.text !== 'string')
        throw invalid(
          `messages[${index}].content[${p}]`,
          `only text content is read (this part is "${part.type}")`,
        );
      return part.text;
    })
    .join('\n');
}

function invalid(param: string, message: string): AppError {
  return new AppError(ErrorCode.ValidationFailed, `${param}: ${message}`, { param });
}
