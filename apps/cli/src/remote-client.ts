/**
 * Owns talking to a running ragnest over its HTTP API, for the CLI's `--url` (or RAGNEST_URL): the
 * ingestion calls the CLI makes (so `ingest` follows the same progress either way), search, and the
 * query stream read as server-sent events. The key in RAGNEST_API_KEY goes as `Authorization: Bearer`.
 */
import type {
  Citation,
  CollectionRef,
  CollectionView,
  DocumentRef,
  DocumentView,
  IngestItem,
  IngestRequest,
  IngestResponse,
  QueryResponse,
  SearchResponse,
} from '#contracts';
import { InputError } from './load-documents.js';
import { readEvents } from './sse-reader.js';

/** A server that answered with an error, or could not be reached: said as the server said it. */
export class RemoteError extends InputError {}

/** The subset of the ingestion port `ingestDocuments` uses, over HTTP. */
export interface RemoteIngestion {
  ingest(request: IngestRequest): Promise<IngestResponse>;
  getCollection(request: CollectionRef): Promise<CollectionView>;
  getDocument(request: DocumentRef): Promise<DocumentView>;
}

export interface QueryStreamHandlers {
  onSources?(citations: Citation[]): void;
  onToken(text: string): void;
}

export class RemoteClient implements RemoteIngestion {
  private readonly base: URL;

  constructor(
    url: string,
    private readonly apiKey?: string,
  ) {
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url))
      throw new InputError(`--url must be the http(s) address of a running ragnest, got "${url}"`);
    this.base = new URL(url.endsWith('/') ? url : `${url}/`);
  }

  /** Text documents as JSON, files as one multipart upload (the server names each by its file name). */
  async ingest({ collection, documents }: IngestRequest): Promise<IngestResponse> {
    const path = `rag/collections/${encodeURIComponent(collection)}/documents`;
    const json = documents.filter((d) => d.file === undefined);
    const files = documents.filter(
      (d): d is IngestItem & { file: NonNullable<IngestItem['file']> } => !!d.file,
    );
    const out: IngestResponse = { documents: [] };
    if (json.length > 0) {
      const body = {
        documents: json.map(({ id, title, metadata, text, url }) => ({ id, title, metadata, text, url })),
      };
      out.documents.push(...(await this.json<IngestResponse>('POST', path, body)).documents);
    }
    if (files.length > 0) {
      const form = new FormData();
      for (const { file } of files)
        form.append('files', new Blob([Buffer.from(file.contentBase64 ?? '', 'base64')]), file.name);
      out.documents.push(...(await this.json<IngestResponse>('POST', path, form)).documents);
    }
    return out;
  }

  getCollection({ collection }: CollectionRef): Promise<CollectionView> {
    return this.json('GET', `rag/collections/${encodeURIComponent(collection)}`);
  }

  getDocument({ collection, id }: DocumentRef): Promise<DocumentView> {
    return this.json(
      'GET',
      `rag/collections/${encodeURIComponent(collection)}/documents/${encodeURIComponent(id)}`,
    );
  }

  search(body: { collection: string; query: string; topK: number; mode: string }): Promise<SearchResponse> {
    return this.json('POST', 'rag/search', body);
  }

  /** Asks with `stream: true`, handing over each token as it arrives; resolves with the `done` answer. */
  async query(
    body: { collection: string; query: string; topK: number },
    handlers: QueryStreamHandlers,
  ): Promise<QueryResponse> {
    const res = await this.send('POST', 'rag/query', { ...body, stream: true }, 'text/event-stream');
    if (!res.body) throw new RemoteError(`${this.base.origin} sent an empty answer`);
    let done: QueryResponse | undefined;
    let failure: string | undefined;
    for await (const event of readEvents(res.body)) {
      const data = parseJson(event.data);
      if (event.event === 'token') handlers.onToken((data as { text: string }).text);
      else if (event.event === 'sources') handlers.onSources?.(data as Citation[]);
      else if (event.event === 'done') done = data as QueryResponse;
      else if (event.event === 'error') failure = errorMessage(data) ?? event.data;
    }
    if (failure !== undefined) throw new RemoteError(`the answer failed: ${failure}`);
    if (!done) throw new RemoteError('the answer stream ended before its `done` event');
    return done;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, 'application/json');
    return (await res.json()) as T;
  }

  private async send(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let payload: string | FormData | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const url = new URL(path, this.base);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: payload });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new RemoteError(`cannot reach ragnest at ${this.base.origin}: ${cause}`);
    }
    if (!res.ok) {
      const text = await res.text();
      const message = errorMessage(parseJson(text)) ?? (text.slice(0, 300) || res.statusText);
      throw new RemoteError(`${method} ${url.pathname}: ${res.status} ${message}`);
    }
    return res;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The message of ragnest's error shape `{"error":{"code","message"}}`. */
function errorMessage(body: unknown): string | undefined {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (!error?.message) return undefined;
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
