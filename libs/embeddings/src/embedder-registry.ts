import type { AppConfig } from '#platform';
import type { Embedder } from './embedder.js';
import { HashingEmbedder } from './hashing.embedder.js';
import type { OpenAIEmbedder } from './openai.embedder.js';

/**
 * The embedder of each vector space a collection may hold. New vectors are made by the configured one;
 * a collection filled by an earlier model keeps being searched (and kept up to date) with that model
 * until a re-index has moved it to the configured one. The hashing embedder is rebuilt from its model
 * name; another model of an OpenAI-compatible provider is reached at the same endpoint and key.
 */
export class EmbedderRegistry {
  private readonly others = new Map<string, Embedder>();

  /** `openai`: the OpenAI-compatible embedder's class, given when that is the provider (imported then only). */
  constructor(
    readonly configured: Embedder,
    private readonly config: AppConfig['embeddings'],
    private readonly openai?: typeof OpenAIEmbedder,
  ) {}

  /** The embedder of `model` with vectors of `dimensions`, or undefined when this process cannot make them. */
  get(model: string, dimensions: number): Embedder | undefined {
    if (model === this.configured.model && dimensions === this.configured.dimensions) return this.configured;
    const key = `${model}/${dimensions}`;
    let embedder = this.others.get(key);
    if (!embedder) {
      embedder = this.create(model, dimensions);
      if (!embedder) return undefined;
      this.others.set(key, embedder);
    }
    return embedder;
  }

  private create(model: string, dimensions: number): Embedder | undefined {
    const hashing = new HashingEmbedder({ dimensions });
    if (hashing.model === model) return hashing;
    if (!this.openai) return undefined;
    return new this.openai({
      model,
      baseUrl: this.config.baseUrl,
      apiKey: this.config.apiKey,
      batchSize: this.config.batchSize,
      maxRetries: this.config.maxRetries,
    });
  }
}

export const EMBEDDERS = Symbol('EmbedderRegistry');
