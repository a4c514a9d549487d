import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, FakeLlmServer, freePort, llmReply } from '#testing';

/**
 * The built `ragnest` command against a running `ragnest serve` on an embedded data directory: `--url`
 * (or RAGNEST_URL) sends ingest, search, query and status to it, the answer printed as it streams; the
 * same command without `--url` is refused the directory the server holds, and takes it over once the
 * server is gone. Run `npm run build` first.
 */
const BIN = fileURLToPath(new URL('../../bin/ragnest.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** When each piece of stdout arrived, in ms since the start. */
  arrivals: { at: number; text: string }[];
}

function ragnest(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', RAGNEST_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { code: null, stdout: '', stderr: '', arrivals: [] };
    child.stdout.on('data', (b: Buffer) => {
      run.stdout += b.toString();
      run.arrivals.push({ at: Date.now() - started, text: b.toString() });
    });
    child.stderr.on('data', (b: Buffer) => (run.stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ ...run, code });
    });
  });
}

describe('ragnest CLI against a running server', () => {
  let dataDir: string;
  let docs: string;
  let server: ChildProcess;
  let url: string;
  let llm: FakeLlmServer;
  const local = { DATA_DIR: '' };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ragnest-cli-remote-'));
    docs = mkdtempSync(join(tmpdir(), 'ragnest-cli-docs-'));
    local.DATA_DIR = dataDir;
    writeFileSync(
      join(docs, 'tea.md'),
      '# Green tea\n\nGreen tea contains catechins, which are antioxidants.',
    );
    writeFileSync(join(docs, 'coffee.txt'), 'Coffee contains caffeine, a stimulant of the nervous system.');
    llm = await new FakeLlmServer().start();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [BIN, 'serve'], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        DATABASE_URL: '',
        REDIS_URL: '',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...llm.openaiEnv,
        ANSWER_CACHE_SIZE: '0',
        SHUTDOWN_READINESS_DELAY_MS: '0',
      },
      stdio: 'ignore',
    });
    // A first start makes the PGlite directory (initdb, migrations): over a minute on a loaded machine.
    await eventually(async () => (await fetch(`${url}/health/ready`)).ok, 230_000, 250);
  }, 240_000);

  afterAll(async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await new Promise((r) => server.once('exit', r));
    }
    await llm?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(docs, { recursive: true, force: true });
  });

  it('refuses to open the data directory the server holds, pointing at --url', async () => {
    const lock = JSON.parse(readFileSync(join(dataDir, 'ragnest.lock'), 'utf8'));
    expect(lock.pid).toBe(server.pid);
    const run = await ragnest(['status', 'drinks'], local);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`in use by another ragnest process (pid ${server.pid}`);
    expect(run.stderr).toContain('--url');
  });

  it('ingests files through the server with --url, and reports status through RAGNEST_URL', async () => {
    const run = await ragnest(['--url', url, 'ingest', 'drinks', docs], local);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^2 indexed, 0 unchanged, 0 failed/m);
    const status = await ragnest(['status', 'drinks'], { ...local, RAGNEST_URL: url });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'drinks', documents: { indexed: 2 }, chunks: 2 });
  });

  it('searches through the server', async () => {
    const run = await ragnest(['search', 'drinks', 'caffeine stimulant', '--url', url], local);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^1\. coffee\.txt \(coffee\.txt, score [\d.]+\)\n {4}Coffee contains caffeine/,
    );
  });

  it('prints the answer token by token as the server streams it, then the sources', async () => {
    llm.reply(llmReply.text('Green tea contains catechins [1].', { tokenDelayMs: 150 }));
    const run = await ragnest(['query', 'drinks', 'What does green tea contain?', '--url', url], local);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Green tea contains catechins \[1\]\.\n\nSources:\n\[1\] Green tea \(tea\.md/,
    );
    // Each token arrived on its own, ~150 ms apart, not the whole answer at the end.
    const tokens = run.arrivals.filter((a) => !a.text.includes('Sources:'));
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    expect(tokens.at(-1)!.at - tokens[0].at).toBeGreaterThanOrEqual(300);
  });

  it('sends RAGNEST_API_KEY as a bearer key and prints the error the server answers', async () => {
    const seen: (string | undefined)[] = [];
    const guard: Server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 'AUTH.UNAUTHORIZED', message: 'the key is not valid', requestId: 'r' },
        }),
      );
    });
    await new Promise<void>((r) => guard.listen(0, '127.0.0.1', r));
    try {
      const at = `http://127.0.0.1:${(guard.address() as AddressInfo).port}`;
      const run = await ragnest(['status', 'drinks', '--url', at], {
        ...local,
        RAGNEST_API_KEY: 'rk_secret',
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        'GET /rag/collections/drinks: 401 AUTH.UNAUTHORIZED: the key is not valid',
      );
      expect(seen).toEqual(['Bearer rk_secret']);
    } finally {
      await new Promise((r) => guard.close(r));
    }
    const down = await ragnest(['status', 'drinks', '--url', 'http://127.0.0.1:1'], local);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach ragnest at http:\/\/127\.0\.0\.1:1/);
  });

  it('takes over the directory once the server is gone, its lock left stale', async () => {
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    expect(existsSync(join(dataDir, 'ragnest.lock'))).toBe(true);
    const run = await ragnest(['status', 'drinks'], local);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ name: 'drinks', documents: { indexed: 2 } });
    // The CLI released its own claim as it exited.
    expect(existsSync(join(dataDir, 'ragnest.lock'))).toBe(false);
  }, 150_000);
});
