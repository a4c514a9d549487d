#!/usr/bin/env node
// `npm test`: checks that the services the suite needs are reachable. When they are not and this is a
// Debian/Ubuntu machine on which we are root, it sets them up itself (scripts/ensure-services.sh);
// otherwise it stops at once and says exactly what to install. Then it type-checks, builds (the CLI
// tests run the built binary) and runs every Vitest project.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

const pgUrl = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const redisUrl = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');

function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port), timeout: 2000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

const HOW = `Install and start them, then run npm test again:
- Debian/Ubuntu: sudo bash scripts/ensure-services.sh
  (installs postgresql, redis-server, pgvector and chromium, starts both servers, trusts postgres@localhost)
- macOS: brew install postgresql@17 pgvector redis chromium && brew services start postgresql@17 && brew services start redis
  (then CHROMIUM_PATH=/Applications/Chromium.app/Contents/MacOS/Chromium)
- Docker: docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust pgvector/pgvector:pg17
          docker run -d -p 6379:6379 redis:7
Elsewhere, point TEST_DATABASE_URL (postgres://user@host:port/db) and TEST_REDIS_URL at them.`;

async function missingServices() {
  const missing = [];
  if (!(await reachable(pgUrl.hostname, pgUrl.port || 5432))) {
    missing.push(`PostgreSQL is not reachable at ${pgUrl.host} (TEST_DATABASE_URL).`);
  } else {
    const check = spawnSync(
      'node',
      [
        '-e',
        `const pg=require('pg');const c=new pg.Client(${JSON.stringify(pgUrl.toString())});c.connect().then(()=>c.query("select 1 from pg_available_extensions where name='vector'")).then(r=>{process.exit(r.rowCount?0:3)}).catch(e=>{console.error(e.message);process.exit(2)})`,
      ],
      { encoding: 'utf8' },
    );
    if (check.status === 3) missing.push('PostgreSQL has no pgvector extension installed.');
    else if (check.status !== 0)
      missing.push(`PostgreSQL refused the test connection: ${check.stderr.trim()}`);
  }
  if (!(await reachable(redisUrl.hostname, redisUrl.port || 6379)))
    missing.push(`Redis is not reachable at ${redisUrl.host} (TEST_REDIS_URL).`);
  // The playground's end-to-end tests drive a real headless Chromium (test/e2e/playground/browser.ts).
  const browsers = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  if (!browsers.some((p) => p && existsSync(p)))
    missing.push('Chromium is not installed (or CHROMIUM_PATH does not name it).');
  return missing;
}

/** ensure-services.sh sets up this machine's services, so only the default local URLs are its to fix. */
const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
function canSetUpHere() {
  return (
    existsSync('/etc/debian_version') &&
    process.getuid?.() === 0 &&
    LOCAL.has(pgUrl.hostname) &&
    LOCAL.has(redisUrl.hostname)
  );
}

let missing = await missingServices();
if (missing.length > 0 && canSetUpHere()) {
  console.log(`npm test: ${missing.join(' ')} Setting them up with scripts/ensure-services.sh.`);
  const setUp = spawnSync('bash', ['scripts/ensure-services.sh'], { stdio: 'inherit' });
  missing = setUp.status === 0 ? await missingServices() : missing;
}
if (missing.length > 0) {
  console.error(
    `npm test needs real PostgreSQL + pgvector, Redis and Chromium:\n- ${missing.join('\n- ')}\n${HOW}`,
  );
  process.exit(1);
}

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
run('npx', ['tsc', '-p', 'apps/playground/tsconfig.json']); // the browser playground: DOM types, no Node
run('npm', ['run', '--silent', 'build']);
const report = join(mkdtempSync(join(tmpdir(), 'ragnest-test-')), 'vitest.json');
const vitest = spawnSync(
  'npx',
  [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
  },
);
// A plain closing line that any CI can read, whatever the runner's own format.
if (existsSync(report)) {
  const { numPassedTests, numFailedTests, numPendingTests } = JSON.parse(readFileSync(report, 'utf8'));
  console.log(`tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests} skipped`);
}
process.exit(vitest.status ?? 1);
