import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_CONTEXTS, ContextName } from '#contracts';
import { ConfigError, EnvSchema, loadConfig, parseContexts } from './app-config.js';

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(3000);
    expect(c.database).toEqual({ url: undefined, poolSize: 10, dataDir: './data' });
    expect([...c.contexts].sort()).toEqual([...ALL_CONTEXTS].sort());
    expect(c.embeddings.provider).toBe('hashing');
    expect(c.llm.provider).toBe('extractive');
    expect(c.chunking).toEqual({ size: 1000, overlap: 150 });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: ' ' })).toMatchObject({
      database: { url: undefined },
      redisUrl: undefined,
    });
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
