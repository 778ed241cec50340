/**
 * This host's processes as lock holders. A CLI run is identified by its host, its pid AND its
 * process start: on Linux the boot id and the start time in clock ticks since boot
 * (/proc/<pid>/stat, field 22), which no other process shares; a pid alone is reused. A holder is
 * alive only when a process with that pid runs now, started at that time, and is not a zombie (it
 * has exited; only its parent has not collected it yet).
 *
 * Where /proc is not available (macOS), the start time cannot be read: a holder counts as alive
 * while its pid exists, and its lease decides after that.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LockOwner } from '../../domain/ports';

interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), … */
  state: string;
  /** Clock ticks after boot. */
  startTicks: string;
}

/** /proc/<pid>/stat, or null when that process does not exist; undefined when /proc cannot tell. */
function procStat(pid: number | 'self'): ProcStat | null | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return procAvailable() ? null : undefined;
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses; the fields after the last ")" do not.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = fields[19]; // field 22 of the whole line
  return state && startTicks ? { state, startTicks } : undefined;
}

let available: boolean | undefined;
function procAvailable(): boolean {
  if (available === undefined) {
    try {
      readFileSync('/proc/self/stat');
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

let bootId: string | undefined;
function currentBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = '';
    }
  }
  return bootId;
}

/** `<boot id>:<start ticks>` of a process, or undefined where the system does not say. */
export function processStartOf(pid: number | 'self'): string | undefined {
  const stat = procStat(pid);
  return stat ? `${currentBootId()}:${stat.startTicks}` : undefined;
}

/** This CLI process as a lock holder. */
export function processOwner(): LockOwner {
  const host = hostname();
  const startedAt = new Date(Date.now() - process.uptime() * 1000).toISOString();
  const processStart = processStartOf('self');
  return {
    id: randomUUID(),
    description: `rs-cert-watchdog on ${host} (pid ${process.pid}, started ${startedAt})`,
    host,
    pid: process.pid,
    startedAt,
    ...(processStart ? { processStart } : {}),
  };
}

/**
 * Whether a holder still runs: false when it is on this host and no process with its pid and start
 * runs (exited, a zombie, or the pid now belongs to another process); undefined when it is on
 * another host or names no pid (the lease decides).
 */
export function processAlive(owner: LockOwner): boolean | undefined {
  if (owner.host !== hostname() || owner.pid === undefined || !Number.isInteger(owner.pid) || owner.pid <= 0)
    return undefined;
  const stat = procStat(owner.pid);
  if (stat === null) return false;
  if (stat) {
    if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
    // A record without a start (written where /proc was missing) is judged by its pid alone.
    if (owner.processStart !== undefined)
      return owner.processStart === `${currentBootId()}:${stat.startTicks}`;
    return true;
  }
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
