import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Where initdb and pg_ctl are: the Debian path of PostgreSQL 15, or what pg_config says. */
function binDir(): string {
  const debian = '/usr/lib/postgresql/15/bin';
  if (existsSync(join(debian, 'pg_ctl'))) return debian;
  return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
}

/**
 * A PostgreSQL cluster of the test's own, in a temporary directory on a free port (trust auth, no
 * fsync), so a test can stop and start it without touching the server other tests share. PostgreSQL
 * refuses to run as root, so under root its tools run as the `postgres` OS user. `close()` removes the
 * cluster whatever happened before.
 */
export class PrivatePostgres {
  private running = false;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  /** The cluster's `postgres` database. */
  get url(): string {
    return this.databaseUrl('postgres');
  }

  databaseUrl(name: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'ragnest-pg-'));
    const cluster = new PrivatePostgres(await freePort(), dir, binDir());
    try {
      if (process.getuid?.() === 0) {
        const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
        chownSync(dir, id('-u'), id('-g'));
      }
      await cluster.tool('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
      await cluster.restart();
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  /** A new database in the cluster; its URL. */
  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.databaseUrl(name);
  }

  /** Starts the server again on its port and data, if it is down, and waits until it accepts connections. */
  async restart(): Promise<void> {
    if (this.running) return;
    // The socket goes in the cluster's directory, not next to the shared server's.
    const options = `-c listen_addresses=127.0.0.1 -p ${this.port} -c fsync=off -c unix_socket_directories=${this.dir}`;
    await this.tool('pg_ctl', [
      'start',
      '-w',
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'log'),
      '-o',
      options,
    ]);
    this.running = true;
  }

  /** A fast shutdown: open sessions are cut off, as in a real restart of the server. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.tool('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', this.dataDir]);
    this.running = false;
  }

  /** Stops the server if it runs and removes the cluster, even if stopping fails. */
  async close(): Promise<void> {
    try {
      if (existsSync(join(this.dataDir, 'postmaster.pid')))
        await this.tool('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', this.dataDir]);
    } finally {
      this.running = false;
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private async tool(name: string, args: string[]): Promise<void> {
    const path = join(this.bin, name);
    const [file, argv] =
      process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    await run(file, argv, { cwd: this.dir });
  }
}
