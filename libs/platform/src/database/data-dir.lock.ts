/**
 * Owns the claim of one process on an embedded data directory: PGlite is a single-process database, and
 * two processes writing one directory corrupt it. The claim is a lock file holding the owner's pid,
 * created exclusively; a lock whose pid is no longer alive (a process that was killed) is taken over. A
 * refusal names the holder and says how to reach it instead (`--url`), since the usual holder is a server.
 */
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'ragnest.lock';

export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    readonly command: string,
  ) {
    super(
      `the data directory ${dir} is in use by another ragnest process (pid ${pid}${command ? `, ${command}` : ''}): ` +
        'PGlite serves one process at a time. Stop it, or talk to the running server with --url ' +
        '(or RAGNEST_URL), e.g. --url http://localhost:3000',
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  release(): void;
}

/** Claims `dir` for this process; throws DataDirLockedError while a live process holds it. */
export function lockDataDir(dir: string): DataDirLock {
  const path = join(dir, LOCK_FILE);
  const content = `${JSON.stringify({ pid: process.pid, command: process.argv.slice(1, 3).join(' ') })}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      // The same process may open the directory again after closing it (or tests, several apps in turn).
      if (holder && holder.pid !== process.pid && isAlive(holder.pid))
        throw new DataDirLockedError(dir, holder.pid, holder.command);
      // Stale (its process is gone) or unreadable: removed, then claimed again by an exclusive create, so
      // of two processes taking it over at once one wins.
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      // Only our own claim is removed: a process that took over a lock we thought stale keeps its own.
      if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
    };
    process.on('exit', release);
    return { release };
  }
  throw new Error(`cannot claim the data directory ${dir}: its lock file ${path} keeps changing`);
}

function readHolder(path: string): { pid: number; command: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; command?: unknown };
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return { pid: parsed.pid, command: typeof parsed.command === 'string' ? parsed.command : '' };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists, but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
