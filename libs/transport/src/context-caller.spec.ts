import { describe, expect, it } from 'vitest';
import { AppError, ContextName, Pattern } from '#contracts';
import { loadConfig, RequestContext, type RequestMeta, ResilienceService } from '#platform';
import { buildContextClients } from './transport.module.js';
import { ContextCaller, contextOf } from './context-caller.js';
import { InProcessServer } from './in-process.transport.js';

function setup(handler: (payload: unknown) => unknown, env: Record<string, string> = {}) {
  const config = loadConfig(env);
  const server = new InProcessServer();
  server.addHandler(Pattern.RetrievalSearch, async (payload: unknown) => handler(payload));
  const caller = new ContextCaller(
    buildContextClients(config, server),
    new ResilienceService(config),
    config,
  );
  return { caller, config };
}

describe('ContextCaller', () => {
  it('carries the request id, trace context and deadline of the current request to the handler', async () => {
    const { caller } = setup(() => RequestContext.current());
    const meta: RequestMeta = {
      requestId: 'req-1',
      deadline: Date.now() + 60_000,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    };
    const seen = await RequestContext.run(meta, () => caller.call<RequestMeta>(Pattern.RetrievalSearch, {}));
    expect(seen.requestId).toBe('req-1');
    expect(seen.traceparent).toBe(meta.traceparent);
    // The call's own bound (CALL_TIMEOUT_MS, 10 s) is tighter than the request's 60 s.
    expect(seen.deadline).toBeLessThanOrEqual(Date.now() + 10_000);
  });

  it('gives a call outside any request its own id and deadline', async () => {
    const { caller } = setup(() => RequestContext.current());
    const seen = await caller.call<RequestMeta>(Pattern.RetrievalSearch, {}, { timeoutMs: 1_000 });
    expect(seen.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.deadline - Date.now()).toBeLessThanOrEqual(1_000);
  });

  it('refuses at once a call whose request has no time left', async () => {
    let called = false;
    const { caller } = setup(() => (called = true));
    const call = RequestContext.run({ requestId: 'late', deadline: Date.now() - 1 }, () =>
      caller.call(Pattern.RetrievalSearch, {}),
    );
    await expect(call).rejects.toMatchObject({ code: 'TRANSPORT.TIMEOUT', status: 504 });
    expect(called).toBe(false);
  });

  it('rethrows the handler’s AppError with its code and status', async () => {
    const { caller } = setup(() => {
      throw new AppError('RETRIEVAL.COLLECTION_NOT_FOUND', 'no such collection');
    });
    await expect(caller.call(Pattern.RetrievalSearch, {})).rejects.toMatchObject({
      code: 'RETRIEVAL.COLLECTION_NOT_FOUND',
      status: 404,
    });
  });

  it('names the target context of a pattern', () => {
    expect(contextOf(Pattern.QueryUnderstand)).toBe(ContextName.QueryUnderstanding);
    expect(contextOf(Pattern.IngestionIngest)).toBe(ContextName.Ingestion);
  });
});

describe('buildContextClients', () => {
  it('stops start-up when a context is neither hosted nor reachable', () => {
    expect(() =>
      buildContextClients(loadConfig({ RAG_CONTEXTS: 'gateway,retrieval' }), new InProcessServer()),
    ).toThrow(/ingestion, query-understanding, generation, presentation are not hosted[\s\S]*REDIS_URL/);
  });

  it('reaches hosted contexts in process and reports no remote replicas', async () => {
    const clients = buildContextClients(loadConfig({}), new InProcessServer());
    expect(await clients.remoteReplicas()).toEqual({});
    await clients.close();
  });
});
