import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from './data-dir.lock.js';

describe('lockDataDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ragnest-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A real process that outlives the assertions, standing in for a running server. */
  const holder = () => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });

  it('writes this process id, and removes the file on release', () => {
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('refuses a directory a live process holds, naming it and --url', async () => {
    const child = holder();
    try {
      writeFileSync(
        join(dir, LOCK_FILE),
        JSON.stringify({ pid: child.pid, command: 'bin/ragnest.js serve' }),
      );
      expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
      expect(() => lockDataDir(dir)).toThrow(
        new RegExp(`in use by another ragnest process \\(pid ${child.pid}, bin/ragnest.js serve\\).*--url`),
      );
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // Its process is gone: the lock is stale and taken over.
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over an unreadable lock file', () => {
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    lockDataDir(dir).release();
  });
});
