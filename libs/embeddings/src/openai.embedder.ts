/**
 * Embeds through any server speaking OpenAI's `POST /v1/embeddings`: OpenAI itself, Ollama (`/v1`), vLLM,
 * Hugging Face TEI, LM Studio. Owns the client options, batching, and the checks that every response
 * has one vector per input, in input order, all of the same length.
 *
 * Dimensions: when `dimensions` is configured it is sent as the request's `dimensions` parameter (OpenAI's
 * text-embedding-3 models shorten their vectors to it; servers without that feature may reject it, so
 * leave it unset for them) and every vector must have that length. When it is not configured, the length
 * is learned from the first response: until then reading `dimensions` throws, so code that needs it up
 * front (sizing a vector column) must `await probeDimensions()` first, which embeds one short text.
 */
import { OpenAIEmbeddings } from '@langchain/openai';
import type { Embedder } from './embedder.js';

export interface OpenAIEmbedderOptions {
  model: string;
  /** E.g. `http://localhost:11434/v1`; the OpenAI API when omitted. */
  baseUrl?: string;
  /** Required for the OpenAI API; local servers usually need none. */
  apiKey?: string;
  dimensions?: number;
  /** Inputs per request (OpenAI accepts up to 2048). */
  batchSize?: number;
  timeoutMs?: number;
  /** Retries of a failed request (network errors, 429, 5xx), with exponential backoff. */
  maxRetries?: number;
}

const OPENAI_BASE_URL = 'https://api.openai.com/v1';
const DEFAULT_BATCH_SIZE = 256;
const DEFAULT_TIMEOUT_MS = 60_000;
// The library's default of 6 retries with exponential backoff can hold an ingest for minutes on a dead
// server; 2 rides out a blip and then lets the caller's own error handling take over.
const DEFAULT_MAX_RETRIES = 2;
// The OpenAI client refuses to start without a key, while local servers ignore the header.
const PLACEHOLDER_API_KEY = 'unused';
const PROBE_TEXT = 'dimension probe';

type EmbeddingRequest = Parameters<OpenAIEmbeddings['embeddingWithRetry']>[0];

/**
 * LangChain's client pairs the n-th returned vector with the n-th input without looking at `index`, and
 * fails with a bare TypeError when a server returns fewer vectors; this makes both explicit.
 */
class CheckedOpenAIEmbeddings extends OpenAIEmbeddings {
  protected override async embeddingWithRetry(request: EmbeddingRequest) {
    const response = await super.embeddingWithRetry(request);
    const expected = Array.isArray(request.input) ? request.input.length : 1;
    const received = Array.isArray(response.data) ? response.data.length : 0;
    if (received !== expected) {
      throw new Error(`the server returned ${received} embeddings for ${expected} inputs`);
    }
    response.data.sort((a, b) => a.index - b.index);
    return response;
  }
}

export class OpenAIEmbedder implements Embedder {
  readonly provider = 'openai';
  readonly model: string;

  private readonly client: OpenAIEmbeddings;
  private readonly endpoint: string;
  private readonly configuredDimensions: number | undefined;
  private knownDimensions: number | undefined;

  constructor(options: OpenAIEmbedderOptions) {
    const { model, baseUrl, dimensions } = options;
    if (!model) throw new Error('OpenAIEmbedder: a model name is required');
    if (dimensions !== undefined && (!Number.isInteger(dimensions) || dimensions < 1)) {
      throw new Error(`OpenAIEmbedder: dimensions must be a positive integer, got ${dimensions}`);
    }
    const apiKey = options.apiKey || (baseUrl ? PLACEHOLDER_API_KEY : undefined);
    if (!apiKey) {
      throw new Error(
        'OpenAIEmbedder: an apiKey is required for the OpenAI API (or set baseUrl to a local server)',
      );
    }
    this.model = model;
    this.endpoint = baseUrl ?? OPENAI_BASE_URL;
    this.configuredDimensions = dimensions;
    this.knownDimensions = dimensions;
    this.client = new CheckedOpenAIEmbeddings({
      model,
      apiKey,
      dimensions,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
      // Vectors as JSON numbers: the client would otherwise ask for base64, which not every
      // OpenAI-compatible server implements.
      encodingFormat: 'float',
      // Texts go as they are: replacing newlines was advice for OpenAI's first-generation models only.
      stripNewLines: false,
      configuration: baseUrl ? { baseURL: baseUrl } : undefined,
    });
  }

  /** The vector length; throws while it is neither configured nor learned (see `probeDimensions`). */
  get dimensions(): number {
    if (this.knownDimensions === undefined) {
      throw new Error(
        `OpenAIEmbedder: the dimensions of model "${this.model}" are not known before its first response; ` +
          'configure them or await probeDimensions() first',
      );
    }
    return this.knownDimensions;
  }

  /** The vector length, embedding one short text to learn it if it is neither configured nor known yet. */
  async probeDimensions(): Promise<number> {
    if (this.knownDimensions === undefined) await this.embedQuery(PROBE_TEXT);
    return this.dimensions;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const vectors = await this.request(() => this.client.embedDocuments(texts));
    if (vectors.length !== texts.length) {
      throw new Error(`OpenAIEmbedder: got ${vectors.length} embeddings for ${texts.length} texts`);
    }
    vectors.forEach((vector, i) => this.checkVector(vector, i));
    return vectors;
  }

  async embedQuery(text: string): Promise<number[]> {
    const vector = await this.request(() => this.client.embedQuery(text));
    this.checkVector(vector, 0);
    return vector;
  }

  private async request<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `OpenAIEmbedder: embedding with model "${this.model}" at ${this.endpoint} failed: ${reason}`,
        {
          cause: error,
        },
      );
    }
  }

  private checkVector(vector: number[], position: number): void {
    if (!Array.isArray(vector) || vector.length === 0) {
      throw new Error(
        `OpenAIEmbedder: model "${this.model}" at ${this.endpoint} returned no vector for text #${position}`,
      );
    }
    if (this.knownDimensions === undefined) this.knownDimensions = vector.length;
    if (vector.length !== this.knownDimensions) {
      const source =
        this.configuredDimensions === undefined ? 'learned from its first response' : 'configured';
      throw new Error(
        `OpenAIEmbedder: model "${this.model}" at ${this.endpoint} returned a vector of ${vector.length} ` +
          `dimensions for text #${position}, expected ${this.knownDimensions} (${source})`,
      );
    }
    for (const value of vector) {
      if (!Number.isFinite(value)) {
        throw new Error(
          `OpenAIEmbedder: model "${this.model}" returned a non-finite value for text #${position}`,
        );
      }
    }
  }
}
