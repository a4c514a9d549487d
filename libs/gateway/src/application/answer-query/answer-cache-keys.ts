import { createHash } from 'node:crypto';
import { normalizeQuery, type QueryBody } from '#contracts';

/** How an answer is found again: the hashes of a request and of its question, and their Redis keys. */

/** `<prefix>:answers:<collection>:generation`: the counter that invalidating a collection increments. */
export function answerGenerationKey(prefix: string, collection: string): string {
  return `${prefix}:answers:${collection}:generation`;
}

/**
 * The Redis keys of an answer: `<prefix>:answers:<collection>:<generation>:<hash>` for the whole request
 * and `…:<generation>:question:<hash>` for its question. Collection names have no `:`, so neither can
 * be taken for the generation counter.
 */
export function answerKeys(
  prefix: string,
  body: QueryBody,
  generation: number,
): { request: string; question: string } {
  const base = `${prefix}:answers:${body.collection}:${generation}`;
  return { request: `${base}:${requestHash(body)}`, question: `${base}:question:${questionHash(body)}` };
}

/**
 * A hash of everything in the request but its collection that can change the answer: all of the body
 * but `stream` (a streamed answer is the same answer), so a field added to the body later is part of the
 * key without anyone having to remember it. Object keys are sorted, so `{a,b}` and `{b,a}` filters are one
 * entry. The query is normalised as query understanding normalises it (normalizeQuery, NFKC), so two
 * queries with one key are understood alike. `explain` is left out too:
 * a request asking for it does not use the cache (see AnswerQueryUseCase), and `"explain": false` is the
 * same request as none.
 */
export function requestHash(body: QueryBody): string {
  const { stream: _stream, collection: _collection, explain: _explain, query, ...options } = body;
  return hash({ ...options, query: normalizeQuery(query) });
}

/**
 * The question of a request: as `requestHash`, less `topK`, which only shapes the answer (how many
 * sources it draws on). Any answer to the question beats an extractive one when the model is down.
 */
export function questionHash(body: QueryBody): string {
  const {
    stream: _stream,
    collection: _collection,
    explain: _explain,
    topK: _topK,
    query,
    ...options
  } = body;
  return hash({ ...options, query: normalizeQuery(query) });
}

function hash(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(sortKeys(value)))
    .digest('base64url');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(object)
      .sort()
      .map((k) => [k, sortKeys(object[k])]),
  );
}
