/**
 * Owns fetching a URL for ingestion, defensively: http(s) only; every address a name resolves to is
 * checked, and the connection is made to the checked address (no second lookup a rebinding DNS could
 * answer differently), at every redirect hop; a bound on redirects, on the whole time and on the body's
 * bytes (Content-Length first, then as it streams); and only the media types the caller can read.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, fetch, type Response } from 'undici';
import { UnreadableFileError } from '../extraction/extraction.errors.js';
import { isPublicAddress, literalAddress } from './public-address.js';

export interface UrlFetchOptions {
  allowPrivate: boolean;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
}

export interface FetchedResource {
  /** Where the body came from, after redirects. */
  url: string;
  /** The media type's essence (`text/html`), lower case; empty when the server sent none. */
  mediaType: string;
  bytes: Uint8Array;
}

/** A fetch that failed: the URL, and why, in words for the document's `error`. */
export class UrlFetchError extends UnreadableFileError {
  constructor(url: string, reason: string, options?: ErrorOptions) {
    super(`fetching ${url} failed: ${reason}`, options);
    this.name = 'UrlFetchError';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function fetchUrl(
  url: string,
  options: UrlFetchOptions,
  accepts: (mediaType: string, url: URL) => boolean,
): Promise<FetchedResource> {
  const agent = new Agent({
    connect: options.allowPrivate ? {} : { lookup: publicOnlyLookup },
    maxRedirections: 0,
  } as Agent.Options);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let current = parseHttpUrl(url, url);
  try {
    for (let hop = 0; ; hop++) {
      if (!options.allowPrivate) refuseLiteralPrivate(current);
      let response: Response;
      try {
        response = await fetch(current, {
          dispatcher: agent,
          redirect: 'manual',
          signal,
          headers: { 'user-agent': 'ragnest (document ingest)', accept: '*/*' },
        });
      } catch (error) {
        throw new UrlFetchError(current.href, describe(error, options.timeoutMs), { cause: error });
      }
      if (REDIRECTS.has(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        const location = response.headers.get('location');
        if (!location) throw new UrlFetchError(current.href, `HTTP ${response.status} without a Location`);
        if (hop >= options.maxRedirects)
          throw new UrlFetchError(url, `more than ${options.maxRedirects} redirects`);
        current = parseHttpUrl(location, current.href, current);
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new UrlFetchError(current.href, `HTTP ${response.status} ${response.statusText}`.trim());
      }
      const mediaType = essence(response.headers.get('content-type') ?? '');
      if (!accepts(mediaType, current)) {
        await response.body?.cancel().catch(() => undefined);
        throw new UrlFetchError(
          current.href,
          `its content type ${mediaType || '(none)'} is not one ragnest can read`,
        );
      }
      const bytes = await readBody(response, current.href, options);
      return { url: current.href, mediaType, bytes };
    }
  } finally {
    await agent.close().catch(() => undefined);
  }
}

function parseHttpUrl(value: string, shown: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    throw new UrlFetchError(shown, `"${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UrlFetchError(shown, `only http and https URLs are fetched, not ${url.protocol}`);
  return url;
}

function refuseLiteralPrivate(url: URL): void {
  // A literal address is connected to without a lookup, so it is checked here.
  const literal = literalAddress(url.hostname);
  if (literal !== undefined && !isPublicAddress(literal)) throw privateRefusal(url.hostname, literal);
}

function privateRefusal(host: string, address: string): UrlFetchError {
  return new UrlFetchError(
    host,
    `${address} is a private, loopback or otherwise non-public address (URL_INGEST_ALLOW_PRIVATE=true allows it)`,
  );
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** dns.lookup, refusing the name when any address it resolves to is not public. */
function publicOnlyLookup(
  hostname: string,
  options: { all?: boolean; family?: number },
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) return callback(privateRefusal(hostname, refused.address), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

async function readBody(response: Response, url: string, options: UrlFetchOptions): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  const tooLarge = () => `the body is over the ${options.maxBytes}-byte limit (URL_INGEST_MAX_BYTES)`;
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new UrlFetchError(url, tooLarge());
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const part of response.body ?? []) {
      total += part.byteLength;
      if (total > options.maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        throw new UrlFetchError(url, tooLarge());
      }
      parts.push(part);
    }
  } catch (error) {
    if (error instanceof UrlFetchError) throw error;
    throw new UrlFetchError(url, describe(error, options.timeoutMs), { cause: error });
  }
  return Buffer.concat(parts, total);
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError')
    return `no complete answer within ${timeoutMs} ms (URL_INGEST_TIMEOUT_MS)`;
  if (error instanceof UrlFetchError) return error.message;
  const cause = (error as { cause?: unknown })?.cause;
  if (cause instanceof UrlFetchError) return cause.message.replace(/^fetching \S+ failed: /, '');
  if (cause instanceof DOMException && cause.name === 'TimeoutError') return describe(cause, timeoutMs);
  const message =
    cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return message;
}

function essence(contentType: string): string {
  return contentType.split(';', 1)[0].trim().toLowerCase();
}
