import type { AppError } from '#contracts';
import { toAppError } from '#platform';
import { MODEL_NOT_FOUND } from './chat-request.js';

/** OpenAI's error body, which its SDKs and the chat UIs built on them read. */
export interface OpenAiError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * Errors of the OpenAI-compatible endpoints in OpenAI's shape, `{"error":{"message","type","param","code"}}`,
 * with the same statuses as the rest of the API. `code` is OpenAI's where a client acts on it
 * (`model_not_found`, `invalid_api_key`, `rate_limit_exceeded`), else ragnest's own code.
 */
export function openAiErrorBody(error: AppError): OpenAiError {
  const details = (error.details ?? {}) as { param?: unknown; issues?: { field?: unknown }[] };
  const field = details.issues?.[0]?.field;
  const param = typeof details.param === 'string' ? details.param : typeof field === 'string' ? field : null;
  return { error: { message: error.message, type: errorType(error.status), param, code: openAiCode(error) } };
}

export function toOpenAiError(exception: unknown): OpenAiError {
  return openAiErrorBody(toAppError(exception));
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return status === 503 ? 'service_unavailable' : 'server_error';
  return 'invalid_request_error';
}

function openAiCode(e: AppError): string {
  if (e.code === MODEL_NOT_FOUND) return 'model_not_found';
  if (e.status === 401) return 'invalid_api_key';
  if (e.status === 429) return 'rate_limit_exceeded';
  return e.code;
}
