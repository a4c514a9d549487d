import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { freePort } from './free-port.js';
import { eventually } from './http-client.js';

/**
 * A `redis-server` of the test's own, on a free port and without persistence, so a test can kill and
 * restart it without touching the Redis other tests share. Restarted, it comes back on the same port,
 * empty, as a Redis without persistence does after a crash.
 */
export class PrivateRedis {
  private child?: ChildProcess;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  /** Starts the server again on its port, if it is down, and waits until it accepts connections. */
  async restart(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await eventually(() => portOpen(this.port), 5_000);
  }

  /** Kills the server with SIGKILL, a crash rather than a shutdown, and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
