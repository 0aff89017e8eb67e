// Processes as Linux's /proc shows them: a process tree, and whether a process still runs
// (a zombie waiting for its parent to reap it does not).
import fs from 'node:fs';

interface Stat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

function stat(pid: number): Stat | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return null;
  }
}

export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

function all(): Stat[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map((e) => stat(Number(e)))
    .filter((s): s is Stat => s !== null);
}

/** `pid` and every process below it, whatever their process group. */
export function processTree(pid: number): number[] {
  const list = all();
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const s of list) if (s.ppid === out[i] && !out.includes(s.pid)) out.push(s.pid);
  }
  return out.filter((p) => running(p));
}

/** Runs (exists and is not a zombie). */
export function running(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X';
}

export function processGroupOf(pid: number): number | null {
  return stat(pid)?.pgrp ?? null;
}

export function describe(pids: number[]): string {
  return pids.map((p) => `${p} ${cmdline(p).slice(0, 120)}`).join('\n');
}
