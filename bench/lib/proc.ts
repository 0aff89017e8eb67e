// CPU time of processes and of the machine from Linux's /proc, for benches that start the
// runtime (and the services) as other processes. Clock ticks at 100 Hz (USER_HZ on Linux).
import fs from 'node:fs';

const HZ = 100;

/** CPU seconds (user + system) of a process from /proc (0 when unavailable). */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / HZ; // utime, stime in clock ticks
  } catch {
    return 0;
  }
}

/** CPU seconds per process whose command name (/proc/<pid>/comm) is `comm`; diff with cpuOfCommandSince. */
export function cpuOfCommand(comm: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/comm`, 'utf8').trim() === comm) m.set(Number(e), cpuSeconds(Number(e)));
    } catch {
      /* gone */
    }
  }
  return m;
}

/** CPU used since `before` by the processes named `comm` alive now (exited ones are not counted). */
export function cpuOfCommandSince(comm: string, before: Map<number, number>): number {
  let s = 0;
  for (const [pid, now] of cpuOfCommand(comm)) s += Math.max(0, now - (before.get(pid) ?? 0));
  return s;
}

/** CPU seconds of the whole machine (all cores) from /proc/stat: busy and total. */
export function machineCpu(): { busy: number; total: number } {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is in user)
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = v[3]! + v[4]!;
    return { busy: (total - idle) / HZ, total: total / HZ };
  } catch {
    return { busy: 0, total: 0 };
  }
}
