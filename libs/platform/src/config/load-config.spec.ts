import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_CONTEXTS, ContextName } from '#contracts';
import { ConfigError } from './app-config.js';
import { EnvSchema } from './env-schema.js';
import { defaultBlockCacheMb, loadConfig, parseContexts } from './load-config.js';

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(3000);
    expect(c.database).toEqual({
      url: undefined,
      poolSize: 10,
      dataDir: './data',
      migrate: true,
      pgliteSharedBuffersMb: 32,
    });
    expect([...c.contexts].sort()).toEqual([...ALL_CONTEXTS].sort());
    expect(c.embeddings.provider).toBe('hashing');
    expect(c.llm.provider).toBe('extractive');
    expect(c.chunking).toEqual({ size: 1000, overlap: 150 });
  });

  it('builds HNSW indexes from 2,000 chunks on PostgreSQL and from 50,000 on PGlite, unless told', () => {
    const at = (env: Record<string, string>) => loadConfig(env).ingestion.vectorIndexMinChunks;
    expect(at({ DATABASE_URL: 'postgres://localhost/ragnest' })).toBe(2000);
    expect(at({})).toBe(50_000);
    expect(at({ VECTOR_INDEX_MIN_CHUNKS: '' })).toBe(50_000);
    expect(at({ VECTOR_INDEX_MIN_CHUNKS: '100' })).toBe(100);
    expect(at({ DATABASE_URL: 'postgres://localhost/ragnest', VECTOR_INDEX_MIN_CHUNKS: '0' })).toBe(0);
  });

  it('sizes the BM25 block cache to an eighth of the memory, 32 to 256 MiB, unless told', () => {
    const MiB = 2 ** 20;
    expect(defaultBlockCacheMb(512 * MiB)).toBe(64);
    expect(defaultBlockCacheMb(128 * MiB)).toBe(32);
    expect(defaultBlockCacheMb(24 * 1024 * MiB)).toBe(256);
    expect(loadConfig({}).retrieval.lexicalBlockCacheMb).toBe(defaultBlockCacheMb());
    expect(loadConfig({ LEXICAL_BLOCK_CACHE_MB: '0' }).retrieval.lexicalBlockCacheMb).toBe(0);
    expect(loadConfig({ LEXICAL_BLOCK_CACHE_MB: '100' }).retrieval.lexicalBlockCacheMb).toBe(100);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: ' ' })).toMatchObject({
      database: { url: undefined },
      redisUrl: undefined,
    });
    // Numbers and switches too: a blank PORT is not port 0, a blank EMBEDDINGS_DIMENSIONS not "too small".
    expect(loadConfig({ PORT: '', EMBEDDINGS_DIMENSIONS: ' ', QUERY_HYDE: '', RAG_CONTEXTS: '' })).toEqual(
      loadConfig({}),
    );
  });

  it('reads .env.example, copied as it is, as the defaults it says it shows', () => {
    const example = readFileSync(new URL('../../../../.env.example', import.meta.url), 'utf8');
    const env = Object.fromEntries(
      [...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });

  it('names every invalid variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', EMBEDDINGS_PROVIDER: 'magic' })).toThrow(
      /PORT[\s\S]*EMBEDDINGS_PROVIDER|EMBEDDINGS_PROVIDER[\s\S]*PORT/,
    );
  });

  it('refuses inconsistent settings', () => {
    expect(() => loadConfig({ CHUNK_SIZE: '500', CHUNK_OVERLAP: '500' })).toThrow(ConfigError);
    expect(() => loadConfig({ LLM_PROVIDER: 'openai' })).toThrow(/LLM_MODEL/);
    expect(() => loadConfig({ EMBEDDINGS_PROVIDER: 'openai' })).toThrow(/EMBEDDINGS_MODEL/);
  });

  it('reads the re-ranking settings and refuses incomplete ones', () => {
    expect(loadConfig({}).rerank).toEqual({
      provider: 'mmr',
      baseUrl: undefined,
      model: undefined,
      apiKey: undefined,
      timeoutMs: 5000,
      maxDocuments: 50,
    });
    const tei = { RERANK_PROVIDER: 'tei', RERANK_BASE_URL: 'http://tei:8080' };
    expect(loadConfig(tei).rerank).toMatchObject({ provider: 'tei', baseUrl: 'http://tei:8080' });
    expect(() => loadConfig({ RERANK_PROVIDER: 'tei' })).toThrow(/RERANK_PROVIDER=tei needs RERANK_BASE_URL/);
    expect(() => loadConfig({ ...tei, RERANK_BASE_URL: 'tei:8080' })).toThrow(
      /RERANK_BASE_URL must be an http/,
    );
    expect(() => loadConfig({ ...tei, RERANK_PROVIDER: 'cohere' })).toThrow(/cohere needs RERANK_MODEL/);
    expect(() => loadConfig({ ...tei, RERANK_TIMEOUT_MS: '10000' })).toThrow(/below CALL_TIMEOUT_MS/);
    expect(() => loadConfig({ RERANK_PROVIDER: 'colbert' })).toThrow(/RERANK_PROVIDER/);
  });

  it('reads the chat-model settings and says what each provider is missing', () => {
    expect(loadConfig({}).llm).toMatchObject({
      provider: 'extractive',
      maxTokens: 1024,
      contextTokens: 8192,
      maxRetries: 2,
    });
    const ollama = { LLM_PROVIDER: 'ollama', LLM_MODEL: 'llama3.1:8b' };
    expect(loadConfig(ollama).llm).toMatchObject({
      provider: 'ollama',
      model: 'llama3.1:8b',
      baseUrl: undefined,
    });
    expect(() => loadConfig({ ...ollama, LLM_BASE_URL: 'http://localhost:11434/v1' })).toThrow(/server root/);
    expect(() => loadConfig({ ...ollama, LLM_BASE_URL: 'localhost:11434' })).toThrow(
      /LLM_BASE_URL must be an http/,
    );
    expect(() => loadConfig({ LLM_PROVIDER: 'anthropic' })).toThrow(/anthropic needs LLM_MODEL/);
    expect(() => loadConfig({ LLM_PROVIDER: 'anthropic', LLM_MODEL: 'claude' })).toThrow(/needs LLM_API_KEY/);
    expect(() => loadConfig({ LLM_PROVIDER: 'openai', LLM_MODEL: 'gpt-4o-mini' })).toThrow(
      /needs LLM_API_KEY/,
    );
    const local = { LLM_PROVIDER: 'openai', LLM_MODEL: 'qwen', LLM_BASE_URL: 'http://localhost:1234/v1' };
    expect(loadConfig(local).llm.apiKey).toBeUndefined();
    const claude = { LLM_PROVIDER: 'anthropic', LLM_MODEL: 'claude', LLM_API_KEY: 'k' };
    expect(() => loadConfig({ ...claude, LLM_TEMPERATURE: '1.5' })).toThrow(/at most 1 for anthropic/);
    expect(() => loadConfig({ ...ollama, LLM_CONTEXT_TOKENS: '4096', LLM_MAX_TOKENS: '4000' })).toThrow(
      /LLM_MAX_TOKENS \(4000\) leaves less than 512 tokens/,
    );
    expect(() => loadConfig({ LLM_PROVIDER: 'gemini' })).toThrow(/LLM_PROVIDER/);
  });

  it('bounds the heap growth, 0 leaving it to V8', () => {
    expect(loadConfig({}).heapGrowingPercent).toBe(50);
    expect(loadConfig({ HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(() => loadConfig({ HEAP_GROWING_PERCENT: '-1' })).toThrow(/HEAP_GROWING_PERCENT/);
    expect(() => loadConfig({ HEAP_GROWING_PERCENT: '1001' })).toThrow(/HEAP_GROWING_PERCENT/);
  });

  it('turns tracing on only when the standard OTEL_* variables name an exporter', () => {
    expect(loadConfig({}).observability.tracing).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).observability.tracing).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).observability.tracing).toBe(true);
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }).observability.tracing,
    ).toBe(true);
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'console' }).observability.tracing).toBe(true);
    expect(
      loadConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).observability
        .tracing,
    ).toBe(false);
    expect(
      loadConfig({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).observability
        .tracing,
    ).toBe(false);
    expect(loadConfig({}).observability.logFormat).toBe('json');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('samples a tenth of new traces unless OTEL_TRACES_SAMPLER names a sampler', () => {
    expect(loadConfig({}).observability.traceSampleRatio).toBe(0.1);
    expect(loadConfig({ OTEL_TRACES_SAMPLER_ARG: '0.25' }).observability.traceSampleRatio).toBe(0.25);
    expect(loadConfig({ OTEL_TRACES_SAMPLER_ARG: '1' }).observability.traceSampleRatio).toBe(1);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: 'half' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    // A sampler named explicitly is built by the SDK, with whatever argument it takes.
    expect(
      loadConfig({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: 'x' }).observability
        .traceSampleRatio,
    ).toBeUndefined();
  });

  it('lists every variable in .env.example', () => {
    const example = readFileSync(new URL('../../../../.env.example', import.meta.url), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(Object.keys(EnvSchema.shape).sort());
  });
});

describe('parseContexts', () => {
  it('accepts all and comma-separated names', () => {
    expect(parseContexts('all').size).toBe(ALL_CONTEXTS.length);
    expect([...parseContexts('gateway, retrieval')]).toEqual([ContextName.Gateway, ContextName.Retrieval]);
  });

  it('stops on an unknown or empty name', () => {
    expect(() => parseContexts('gateway,retreival')).toThrow(/unknown context\(s\): retreival/);
    expect(() => parseContexts(' , ')).toThrow(/empty/);
  });
});
