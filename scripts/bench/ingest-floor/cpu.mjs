// CPU accounting from /proc: the seconds each server process, PostgreSQL and Redis used, and the machine as a
// whole.

import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

async function procStat(pid) {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  // Fields after the command name, from field 3 (state) on: ppid is 4, utime..cstime are 14-17.
  const f = text.slice(close + 2).split(' ');
  return {
    pid,
    comm,
    ppid: Number(f[1]),
    own: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS,
    children: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS,
  };
}

/**
 * CPU seconds used so far by every process named `comm`, with the children they reaped: PostgreSQL's
 * backends exit with their connections, and their time then shows on the postmaster.
 */
async function cpuOfCommand(comm) {
  const stats = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = await procStat(Number(entry));
      if (s.comm === comm) stats.push(s);
    } catch {
      // The process ended between readdir and read.
    }
  }
  const pids = new Set(stats.map((s) => s.pid));
  return stats.reduce((sum, s) => sum + s.own + (pids.has(s.ppid) ? 0 : s.children), 0);
}

/** Busy and total CPU seconds of the whole machine so far (iowait counts as idle). */
async function machineCpu() {
  const [line] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: (total - ticks[3] - ticks[4]) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

export async function cpuSnapshot(processes) {
  const [machine, postgres, redis, own] = await Promise.all([
    machineCpu(),
    cpuOfCommand('postgres'),
    cpuOfCommand('redis-server'),
    Promise.all(processes.map(async (p) => ({ name: p.name, seconds: (await procStat(p.child.pid)).own }))),
  ]);
  return { machine, postgres, redis, processes: own, bench: process.cpuUsage(), at: performance.now() };
}

/** What each part used between two snapshots; `other` is the machine's busy time nobody here accounts for. */
export function cpuBetween(before, after) {
  const processes = after.processes.map((p, i) => ({
    name: p.name,
    seconds: p.seconds - before.processes[i].seconds,
  }));
  const bench = (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1e6;
  const postgres = after.postgres - before.postgres;
  const redis = after.redis - before.redis;
  const busy = after.machine.busy - before.machine.busy;
  const accounted = processes.reduce((s, p) => s + p.seconds, 0) + postgres + redis + bench;
  return {
    wallSeconds: (after.at - before.at) / 1000,
    cores: os.cpus().length,
    busy,
    machineBusyShare: busy / (after.machine.total - before.machine.total),
    processes,
    postgres,
    redis,
    bench,
    other: Math.max(0, busy - accounted),
  };
}
