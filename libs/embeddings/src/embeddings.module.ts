import { Module } from '@nestjs/common';
import { CONFIG, type AppConfig } from '#platform';
import { EMBEDDER, type Embedder } from './embedder.js';
import { EMBEDDERS, EmbedderRegistry } from './embedder-registry.js';
import { HashingEmbedder } from './hashing.embedder.js';

export const DEFAULT_HASHING_DIMENSIONS = 384;

/**
 * An OpenAI-compatible model without EMBEDDINGS_DIMENSIONS is asked once, at start, what size its
 * vectors are: collections are bound to that size, so it must be known before the first document.
 */
export async function createEmbedder(config: AppConfig['embeddings']): Promise<Embedder> {
  if (config.provider === 'openai') {
    // Imported only when chosen: the OpenAI client is some 11 MiB of heap the hashing embedder never needs.
    const { OpenAIEmbedder } = await import('./openai.embedder.js');
    const embedder = new OpenAIEmbedder({
      model: config.model!,
      baseUrl: config.baseUrl,
      apiKey: config.apiKey,
      dimensions: config.dimensions,
      batchSize: config.batchSize,
      maxRetries: config.maxRetries,
    });
    if (config.dimensions === undefined) {
      try {
        await embedder.probeDimensions();
      } catch (error) {
        throw new Error(
          `cannot learn the embedding size of ${config.model} (set EMBEDDINGS_DIMENSIONS): ${(error as Error).message}`,
        );
      }
    }
    return embedder;
  }
  return new HashingEmbedder({ dimensions: config.dimensions ?? DEFAULT_HASHING_DIMENSIONS });
}

/**
 * The embedder chosen by EMBEDDINGS_PROVIDER, shared by ingestion (documents) and retrieval (queries),
 * and the registry that also knows the models collections were filled with before.
 */
@Module({
  providers: [
    {
      provide: EMBEDDER,
      inject: [CONFIG],
      useFactory: (config: AppConfig) => createEmbedder(config.embeddings),
    },
    {
      provide: EMBEDDERS,
      inject: [EMBEDDER, CONFIG],
      useFactory: async (embedder: Embedder, config: AppConfig) =>
        new EmbedderRegistry(
          embedder,
          config.embeddings,
          config.embeddings.provider === 'openai'
            ? (await import('./openai.embedder.js')).OpenAIEmbedder
            : undefined,
        ),
    },
  ],
  exports: [EMBEDDER, EMBEDDERS],
})
export class EmbeddingsModule {}
