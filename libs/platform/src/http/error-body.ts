import type { AppError } from '#contracts';

/** The body of an HTTP error response, for an error already mapped to its code and status. */
export type ErrorBodyRenderer = (error: AppError, requestId: string) => unknown;

const renderers: { prefix: string; render: ErrorBodyRenderer }[] = [];

/**
 * Errors of the requests under `prefix` take another shape than ragnest's own: an API that imitates
 * another's (the OpenAI-compatible `/v1/`) answers in that API's error shape. The exception filter
 * consults this, so errors raised before any controller runs (a body that is not JSON, one over the
 * limit, a guard's refusal) take the shape too.
 */
export function renderErrorsUnder(prefix: string, render: ErrorBodyRenderer): void {
  if (!renderers.some((r) => r.prefix === prefix)) renderers.push({ prefix, render });
}

export function errorRendererFor(path: string | undefined): ErrorBodyRenderer | undefined {
  return path === undefined ? undefined : renderers.find((r) => path.startsWith(r.prefix))?.render;
}
