import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  eventually,
  FakeLlmServer,
  freePort,
  http,
  llmReply,
  parsePrometheusText,
  type PromScrape,
  promValue,
  TEST_REDIS_URL,
  type TestDatabase,
} from '#testing';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LLM_KEY = `sk-test-${randomBytes(12).toString('hex')}`;
const DB_PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
/** Texts that are the users' data: never in a line at info or above. */
const DOCUMENT_TEXT = 'Marmosets groom each other after foraging in the canopy';
const QUESTION = 'why do marmosets groom each other';

interface LogLine {
  level: string;
  time: string;
  msg: string;
  service: string;
  replica: string;
  context?: string;
  requestId?: string;
  traceId?: string;
  [key: string]: unknown;
}

/**
 * A real ragnest process (the built single binary, on PostgreSQL and Redis with BullMQ, a chat model
 * behind a fake OpenAI server): every line it writes is parsed as JSON, the client's X-Request-Id is
 * followed through its lines, no secret appears at any level nor the users' texts at info, and
 * GET /metrics, parsed after an ingest and queries, shows the expected series moved.
 */
describe('JSON logs and /metrics of a running process', () => {
  let db: TestDatabase;
  let llm: FakeLlmServer;
  let child: ChildProcess;
  let baseUrl = '';
  const stdout: string[] = [];
  const prefix = `ragnest-obs-${randomBytes(4).toString('hex')}`;
  let metrics: PromScrape;

  const lines = (): LogLine[] =>
    stdout
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LogLine);

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/apps/server/main.js')))
      throw new Error('this test runs the built server: run `npm run build` first');
    db = await createTestDatabase();
    llm = await new FakeLlmServer().start();
    const url = new URL(db.url);
    url.password = DB_PASSWORD; // the test server trusts local connections: the password is only logged, or not
    const port = await freePort();
    child = spawn(process.execPath, [join(ROOT, 'dist/apps/server/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: url.toString(),
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: prefix,
        ...llm.openaiEnv,
        LLM_API_KEY: LLM_KEY,
        // Every level, so the secrets are checked everywhere; texts are checked at info and above.
        LOG_LEVEL: 'verbose',
        LOG_FORMAT: 'json',
        SHUTDOWN_READINESS_DELAY_MS: '0',
        // The HNSW index is built after the ingest, however small, so that its build is timed.
        VECTOR_INDEX_MIN_CHUNKS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
    baseUrl = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${baseUrl}/health/ready`)).ok, 90_000, 200);

    const ingest = await http(
      baseUrl,
      'POST',
      '/rag/collections/monkeys/documents',
      { documents: [{ id: 'm1', title: 'Marmosets', text: DOCUMENT_TEXT }] },
      { 'X-Request-Id': 'ingest-req-1' },
    );
    expect(ingest.status).toBe(202);
    await eventually(async () => {
      const r = await http(baseUrl, 'GET', '/rag/collections/monkeys/documents/m1');
      return r.body.status === 'indexed';
    });
    await eventually(async () => {
      const r = await http(baseUrl, 'GET', '/rag/collections/monkeys');
      return r.body.embedding?.index === 'hnsw';
    });
    // The model fails this one: the gateway logs its fallback (a warn line of the request).
    llm.reply({ kind: 'error', status: 500, message: 'model down' });
    const failed = await http(
      baseUrl,
      'POST',
      '/rag/query',
      { collection: 'monkeys', query: QUESTION },
      { 'X-Request-Id': 'query-req-1' },
    );
    expect(failed.status).toBe(200);
    expect(failed.body.degraded).toContain('generation');
    // Streamed, so the time to first token is measured.
    llm.reply(llmReply.text('They groom to keep social bonds [1].'));
    const streamed = await fetch(`${baseUrl}/rag/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Request-Id': 'query-req-2' },
      body: JSON.stringify({ collection: 'monkeys', query: `${QUESTION} in the wild`, stream: true }),
    });
    expect(streamed.status).toBe(200);
    await streamed.text();
    const scrape = await fetch(`${baseUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    metrics = parsePrometheusText(await scrape.text());
    // Stop the process so that every line it had to write is in.
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await llm?.close();
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await db?.drop();
  });

  describe('logs', () => {
    it('writes every line as one JSON object with level, time, service and replica', () => {
      const all = lines();
      expect(all.length).toBeGreaterThan(10);
      for (const line of all) {
        expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
        expect(Number.isNaN(Date.parse(line.time))).toBe(false);
        expect(line.service).toBe('all');
        expect(line.replica).toBeTruthy();
      }
    });

    it("carries the client's X-Request-Id and one trace id on the lines of its request", () => {
      const ofQuery = lines().filter((l) => l.requestId === 'query-req-1');
      const access = ofQuery.find((l) => l.context === 'http');
      expect(access).toMatchObject({ method: 'POST', route: '/rag/query', status: 200, level: 'info' });
      expect(access!.durationMs).toEqual(expect.any(Number));
      // A line written deep in the use case, not handed the id: the request context supplies it.
      expect(ofQuery.some((l) => l.context === 'AnswerQuery' && l.level === 'warn')).toBe(true);
      expect(new Set(ofQuery.map((l) => l.traceId)).size).toBe(1);
      expect(ofQuery[0].traceId).toMatch(/^[0-9a-f]{32}$/);
      const ofIngest = lines().filter((l) => l.requestId === 'ingest-req-1');
      expect(ofIngest.find((l) => l.context === 'http')).toMatchObject({
        route: '/rag/collections/:collection/documents',
        status: 202,
      });
    });

    it('writes one access line per request, with the route template, never the path', () => {
      const access = lines().filter((l) => l.context === 'http' && l.msg === 'request');
      expect(access.filter((l) => l.requestId === 'query-req-2')).toHaveLength(1);
      expect(access.some((l) => l.route === '/rag/collections/:collection/documents/:id')).toBe(true);
      expect(access.every((l) => !String(l.route).includes('monkeys'))).toBe(true);
    });

    it('never writes a secret at any level, nor document or query text at info and above', () => {
      const raw = stdout.join('');
      expect(raw).not.toContain(LLM_KEY);
      expect(raw).not.toContain(DB_PASSWORD);
      const loud = lines().filter((l) => ['info', 'warn', 'error', 'fatal'].includes(l.level));
      for (const line of loud) {
        const text = JSON.stringify(line).toLowerCase();
        expect(text).not.toContain('marmoset');
      }
    });
  });

  describe('/metrics', () => {
    const value = (name: string, labels: Record<string, string> = {}) => promValue(metrics, name, labels);
    /** Observations of a histogram series. */
    const count = (name: string, labels: Record<string, string> = {}) =>
      promValue(metrics, `${name}_count`, labels);

    it('counts HTTP requests by route template and status, with latency histograms in seconds', () => {
      expect(value('ragnest_http_requests_total', { route: '/rag/query', status: '200' })).toBe(2);
      expect(count('ragnest_http_request_duration_seconds', { route: '/rag/query', method: 'POST' })).toBe(2);
      expect(metrics.types.get('ragnest_http_request_duration_seconds')).toBe('histogram');
    });

    it('times every stage of a query, both legs of the search and the first token', () => {
      for (const stage of ['understand', 'retrieve', 'rerank', 'generate', 'present'])
        expect(count('ragnest_query_stage_duration_seconds', { stage }), stage).toBe(2);
      for (const leg of ['dense', 'sparse'])
        expect(count('ragnest_retrieval_leg_duration_seconds', { leg }), leg).toBeGreaterThanOrEqual(2);
      expect(count('ragnest_generation_time_to_first_token_seconds')).toBe(1);
      expect(value('ragnest_answer_cache_requests_total', { outcome: 'miss' })).toBe(2);
    });

    it('reports calls between contexts, breakers and bulkheads per target', () => {
      expect(
        value('ragnest_transport_calls_total', { target: 'retrieval.search', outcome: 'ok' }),
      ).toBeGreaterThanOrEqual(2);
      expect(
        value('ragnest_transport_calls_total', { target: 'generation.generate', outcome: 'error' }),
      ).toBe(1);
      expect(
        count('ragnest_transport_handled_duration_seconds', { pattern: 'retrieval.search', outcome: 'ok' }),
      ).toBeGreaterThanOrEqual(2);
      expect(value('ragnest_circuit_breaker_state', { target: 'retrieval.search', state: 'Closed' })).toBe(1);
      expect(value('ragnest_circuit_breaker_state', { target: 'retrieval.search', state: 'Open' })).toBe(0);
      expect(value('ragnest_bulkhead_executing_calls', { target: 'retrieval.search' })).toBe(0);
    });

    it('reports ingestion: documents and chunks by outcome, the queue by state, batch and HNSW build time', () => {
      expect(value('ragnest_ingestion_documents_total', { outcome: 'indexed' })).toBe(1);
      expect(value('ragnest_ingestion_chunks_total', { outcome: 'indexed' })).toBeGreaterThanOrEqual(1);
      expect(count('ragnest_ingestion_batch_duration_seconds')).toBeGreaterThanOrEqual(1);
      expect(count('ragnest_vector_index_build_duration_seconds')).toBe(1);
      expect(value('ragnest_ingestion_queue_jobs', { queue: 'ingestion', state: 'completed' })).toBe(1);
      expect(value('ragnest_ingestion_queue_jobs', { queue: 'ingestion', state: 'waiting' })).toBe(0);
      // No collection label unless METRICS_COLLECTION_LABELS says so.
      const documents = metrics.samples.filter((m) => m.name === 'ragnest_ingestion_documents_total');
      expect(documents.every((m) => !('collection' in m.labels))).toBe(true);
    });

    it('reports the PostgreSQL pool and the process', () => {
      expect(value('ragnest_db_pool_connections', { state: 'in_use' })).toBeGreaterThanOrEqual(0);
      expect(value('ragnest_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(1);
      expect(value('ragnest_db_pool_waiting_clients')).toBe(0);
      expect(value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    });
  });
});
