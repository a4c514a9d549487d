import { createParser } from 'eventsource-parser';

/**
 * The one way the playground talks to the API: same origin, JSON, the documented error shape turned into
 * an ApiError that names the code, and an API key (kept in sessionStorage only, so it goes with the tab)
 * sent as `Authorization: Bearer` once the server has asked for one with a 401.
 */
const KEY = 'ragnest.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type AuthListener = (required: boolean) => void;
const authListeners: AuthListener[] = [];

export const apiKey = {
  get: (): string => sessionStorage.getItem(KEY) ?? '',
  set(value: string): void {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
  /** Called with true when the server refuses a request for want of a (valid) key. */
  onRequired(listener: AuthListener): void {
    authListeners.push(listener);
  },
};

export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = apiKey.get();
  if (key) headers.set('Authorization', `Bearer ${key}`);
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401 || res.status === 403) authListeners.forEach((l) => l(true));
  if (!res.ok) throw await toError(res);
  return res;
}

async function toError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return new ApiError(res.status, error.code, error.message);
  } catch {
    return new ApiError(res.status, `HTTP.${res.status}`, text.slice(0, 200) || res.statusText);
  }
}

export async function getJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await apiFetch(path, init);
  return res.status === 204 ? (undefined as T) : ((await res.json()) as T);
}

export function postJson<T>(path: string, body: unknown, init: RequestInit = {}): Promise<T> {
  return getJson<T>(path, {
    ...init,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export interface StreamEvent {
  event: string;
  data: any;
}

/**
 * A server-sent event stream read with fetch (EventSource cannot send the Authorization header), each
 * event's data parsed as JSON; resolves when the server ends the stream, rejects on an abort.
 */
export async function readEvents(
  path: string,
  init: RequestInit,
  onEvent: (e: StreamEvent) => void,
): Promise<void> {
  const res = await apiFetch(path, { ...init, headers: { ...init.headers, accept: 'text/event-stream' } });
  const parser = createParser({
    onEvent: (m) => onEvent({ event: m.event ?? 'message', data: parse(m.data) }),
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    parser.feed(value);
  }
}

function parse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

export function message(error: unknown): string {
  if (error instanceof ApiError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export const enc = encodeURIComponent;
