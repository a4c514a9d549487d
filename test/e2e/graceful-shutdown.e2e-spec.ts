import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTestDatabase,
  eventually,
  FakeLlmServer,
  freePort,
  http,
  llmReply,
  openEventStream,
  type TestDatabase,
} from '#testing';

const ENTRY = fileURLToPath(new URL('../../dist/apps/server/main.js', import.meta.url));
const READINESS_DELAY_MS = 300;
const GRACE_MS = 10_000;
const WORDS = Array.from({ length: 20 }, (_, i) => `word${i} `);

/** GET on a connection of its own (no pooled keep-alive one): the status, or the socket error's code. */
function probe(port: number, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    }).on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * The built server told to stop (SIGTERM) while it streams an answer: readiness fails at once while the
 * process still serves, the answer in flight completes, new connections are refused once the readiness
 * delay has passed, and the process exits 0 within its grace period.
 */
let llm: FakeLlmServer;
let db: TestDatabase;
let child: ChildProcess;
let port: number;
const output: string[] = [];
let exited: Promise<{ code: number | null; at: number }>;

beforeAll(async () => {
  if (!existsSync(ENTRY)) throw new Error('this test runs the built server: run `npm run build` first');
  llm = await new FakeLlmServer().start();
  db = await createTestDatabase();
  port = await freePort();
  child = spawn(process.execPath, [ENTRY], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      REDIS_URL: '',
      ...llm.openaiEnv,
      ANSWER_CACHE_SIZE: '0',
      SHUTDOWN_READINESS_DELAY_MS: String(READINESS_DELAY_MS),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      LOG_LEVEL: 'log',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  const base = `http://127.0.0.1:${port}`;
  await eventually(async () => (await probe(port, '/health/ready')) === 200, 60_000, 100).catch(
    (error: Error) => {
      throw new Error(`${error.message}\n${output.join('')}`);
    },
  );
  const res = await http(base, 'POST', '/rag/collections/facts/documents', {
    documents: [{ id: 'a', text: 'Aspirin lowers the risk of a second heart attack.' }],
  });
  expect(res.status).toBe(202);
  await eventually(async () => {
    const c = await http(base, 'GET', '/rag/collections/facts');
    return c.body.documents?.indexed === 1;
  });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await llm?.close();
  await db?.drop();
});

it('fails readiness at once, finishes the streamed answer, then refuses connections and exits 0', async () => {
  llm.reply(llmReply.text(WORDS, { tokenDelayMs: 100 }));
  const stream = await openEventStream(`http://127.0.0.1:${port}/rag/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      collection: 'facts',
      query: 'does aspirin lower heart attack risk',
      stream: true,
    }),
  });
  expect(stream.status).toBe(200);
  const events = await stream.readUntil((e) => e.event === 'token');

  const signalled = Date.now();
  child.kill('SIGTERM');
  // The signal is handled on the server's next turn of its event loop: poll briefly for the change.
  const ready = await eventually(async () => {
    const status = await probe(port, '/health/ready');
    return status === 503 ? status : undefined;
  }, READINESS_DELAY_MS);
  expect(ready).toBe(503);
  expect(child.exitCode).toBeNull();

  events.push(...(await stream.readUntil()));
  expect(events.at(-1)!.event).toBe('done');
  const tokens = events.filter((e) => e.event === 'token').map((e) => e.data.text as string);
  expect(tokens.join('')).toBe(WORDS.join(''));
  // The stream outlasted the readiness delay, so the listener is closed by now.
  expect(Date.now() - signalled).toBeGreaterThan(READINESS_DELAY_MS);
  const late = await probe(port, '/health/live');
  expect(late === 503 || typeof late === 'string').toBe(true);

  const { code, at } = await exited;
  expect(code, output.join('')).toBe(0);
  expect(at - signalled).toBeLessThan(GRACE_MS);
});
