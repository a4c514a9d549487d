import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributedDeployment, eventually, FakeLlmServer, http, llmReply } from '#testing';

/**
 * Chaos on the distributed deployment (one OS process per context, over Redis Streams): a stage with a
 * fallback failing, by crash or by slowness, must cost answer quality, named in `degraded`, never a 5xx.
 * The counts are printed so the README can quote them.
 */
const DOCUMENTS = [
  { id: 'a1', title: 'Aspirin', text: 'Low-dose aspirin reduces the risk of a first stroke in women.' },
  { id: 'c1', title: 'Coffee', text: 'Coffee drinking is associated with a lower risk of liver cirrhosis.' },
  { id: 'e1', title: 'Exercise', text: 'Aerobic exercise reduces symptoms of depression in adults.' },
  { id: 'v1', title: 'Vitamin D', text: 'Vitamin D supplements did not prevent fractures in older adults.' },
];
const QUESTIONS = [
  'Does aspirin prevent stroke?',
  'Is coffee good for the liver?',
  'Does exercise help depression?',
  'Does vitamin D prevent fractures?',
];

interface Answer {
  answer: string;
  degraded: string[];
  timings: { generateMs: number };
}

interface Ready {
  status: string;
  info?: { circuits?: { targets: Record<string, { state: string }> } };
}

async function ingest(baseUrl: string): Promise<void> {
  const res = await http(baseUrl, 'POST', '/rag/collections/chaos/documents', { documents: DOCUMENTS });
  expect(res.status).toBe(202);
  await eventually(async () => {
    const view = await http(baseUrl, 'GET', '/rag/collections/chaos');
    return view.body.documents?.indexed === DOCUMENTS.length;
  });
}

function ask(baseUrl: string, i: number) {
  return http<Answer>(baseUrl, 'POST', '/rag/query', {
    collection: 'chaos',
    query: QUESTIONS[i % QUESTIONS.length],
  });
}

async function circuit(baseUrl: string, target: string): Promise<{ ready: number; state?: string }> {
  const res = await http<Ready>(baseUrl, 'GET', '/health/ready');
  return { ready: res.status, state: res.body.info?.circuits?.targets[target]?.state };
}

describe('chaos: the generation process is killed under load', () => {
  let d: DistributedDeployment;

  beforeAll(async () => {
    d = await DistributedDeployment.start({
      retrievalReplicas: 1,
      // No cached answers, so every request goes through generation. A call already on its way to the
      // killed process is failed over once the death is known; the 1 s budget bounds it should that fail.
      env: { ANSWER_CACHE_SIZE: '0', GENERATION_TIMEOUT_MS: '1000' },
    });
    await ingest(d.baseUrl);
  });

  afterAll(async () => {
    await d?.close();
  });

  it('answers every query with 200, extractively and marked degraded once generation is gone', async () => {
    const CLIENTS = 4;
    const DURATION_MS = 5_000;
    const KILL_AFTER_MS = 1_500;
    const outcomes: { startedAt: number; ms: number; status: number; degraded: string[]; answer: string }[] =
      [];
    const start = performance.now();
    let killedAt = Infinity;
    const killer = (async () => {
      await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
      await d.kill('generation', 'SIGKILL');
      killedAt = performance.now();
    })();
    let sent = 0;
    const client = async () => {
      while (performance.now() - start < DURATION_MS) {
        const startedAt = performance.now();
        const res = await ask(d.baseUrl, sent++);
        outcomes.push({
          startedAt,
          ms: performance.now() - startedAt,
          status: res.status,
          degraded: res.status === 200 ? res.body.degraded : [],
          answer: res.status === 200 ? res.body.answer : res.text,
        });
      }
    };
    await Promise.all([killer, ...Array.from({ length: CLIENTS }, client)]);

    const failed = outcomes.filter((o) => o.status !== 200);
    const degraded = outcomes.filter((o) => o.degraded.includes('generation'));
    const afterKill = outcomes.filter((o) => o.startedAt >= killedAt);
    const ready = await circuit(d.baseUrl, 'generation.generate');
    console.info(
      `chaos (generation SIGKILL after ${KILL_AFTER_MS} ms, ${CLIENTS} clients, ${DURATION_MS} ms): ` +
        `${outcomes.length} queries, served ${outcomes.length - failed.length}, degraded ${degraded.length} ` +
        `(${afterKill.length} sent after the kill), failed ${failed.length}; slowest ` +
        `${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms; ` +
        `/health/ready ${ready.ready}, generation.generate circuit ${ready.state}`,
    );
    expect(failed).toEqual([]);
    expect(outcomes.some((o) => o.startedAt < killedAt && o.degraded.length === 0)).toBe(true);
    expect(afterKill.length).toBeGreaterThan(0);
    for (const o of afterKill) {
      expect(o.degraded).toContain('generation');
      expect(o.answer.length).toBeGreaterThan(0);
    }
    // Generation has a fallback: its absence, or its open circuit, must not take the gateway out of rotation.
    expect(ready.ready).toBe(200);
  });
});

describe('chaos: a model that stops answering', () => {
  const TIMEOUT_MS = 300;
  const HALF_OPEN_MS = 1_500;
  let d: DistributedDeployment;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    llm = await new FakeLlmServer().start();
    d = await DistributedDeployment.start({
      retrievalReplicas: 1,
      env: {
        ANSWER_CACHE_SIZE: '0',
        ...llm.openaiEnv,
        GENERATION_TIMEOUT_MS: String(TIMEOUT_MS),
        BREAKER_THRESHOLD: '3',
        BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
      },
    });
    await ingest(d.baseUrl);
  });

  afterAll(async () => {
    await d?.close();
    await llm?.close();
  });

  it('opens the circuit after 3 timeouts, falls back at once while open, and closes when the model answers', async () => {
    llm.reply(llmReply.hang(), llmReply.hang(), llmReply.hang());
    for (let i = 0; i < 3; i++) {
      const res = await ask(d.baseUrl, i);
      expect(res.status).toBe(200);
      expect(res.body.degraded).toContain('generation');
      expect(res.body.timings.generateMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    }
    expect(await circuit(d.baseUrl, 'generation.generate')).toEqual({ ready: 200, state: 'Open' });

    // While open, the model is not called and the fallback answer comes well within the timeout.
    const calls = llm.requests.length;
    const open = await ask(d.baseUrl, 3);
    expect(open.status).toBe(200);
    expect(open.body.degraded).toContain('generation');
    expect(open.body.timings.generateMs).toBeLessThan(TIMEOUT_MS / 3);
    expect(llm.requests.length).toBe(calls);

    // The model answers again: after the half-open delay one trial call goes through and closes the circuit.
    llm.reply(llmReply.text('Aspirin lowers the risk of a first stroke in women [1].'));
    await new Promise((r) => setTimeout(r, HALF_OPEN_MS + 100));
    const recovered = await ask(d.baseUrl, 0);
    expect(recovered.status).toBe(200);
    expect(recovered.body.degraded).not.toContain('generation');
    expect(await circuit(d.baseUrl, 'generation.generate')).toEqual({ ready: 200, state: 'Closed' });
    console.info(
      `chaos (model hangs, GENERATION_TIMEOUT_MS=${TIMEOUT_MS}, BREAKER_THRESHOLD=3): ` +
        `fallback while open in ${open.body.timings.generateMs} ms; circuit closed after ${HALF_OPEN_MS} ms ` +
        `once the model answered`,
    );
  });
});
