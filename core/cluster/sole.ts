// A single instance (cluster mode off) is the only orchestrator of the fleet it stores. Two of
// them on one database — a second container started by mistake, a copy of the deployment
// left running — would both allocate every hub, and a hub applying the latest limit of each
// pad from either could see the sum of its limits above its capacity. So a single instance
// holds an exclusive lock in its database (adapters/postgres/sole-lock.ts, a session advisory
// lock: it ends with the process or its connection) and allocates only while it holds it; a
// second one waits as a standby and takes over when the first is gone.
//
// Only evidence of another holder stops an instance: when the database cannot be reached the
// instance allocates as it always did (a PostgreSQL outage never stops the DLM), and when it
// can again it takes the lock back, or learns that another took it and stops.

/** What one try to take the lock found. */
export type LockAttempt =
  { kind: 'held' } | { kind: 'other'; holder: string | null } | { kind: 'error'; message: string };

/** The lock, held on a connection of its own. */
export interface SoleLockPort {
  /** Tries to take the lock (a no-op answering `held` while it is held on a live connection). */
  tryAcquire(): Promise<LockAttempt>;
  /** Is the lock still held (its connection answers)? False once lost. */
  check(): Promise<boolean>;
  /** Lets the lock go (closing its connection). */
  release(): Promise<void>;
}

/**
 * - `starting`: not tried yet;
 * - `sole`: the lock is held, this instance allocates;
 * - `unsure`: the database cannot tell (unreachable, or the lock's connection was lost): this
 *   instance allocates, as a single instance does through an outage, and tries again;
 * - `standby`: another orchestrator holds the lock: this one allocates nothing and tries again.
 */
export type SoleState = 'starting' | 'sole' | 'unsure' | 'standby';

export interface SoleChange {
  from: SoleState;
  to: SoleState;
  /** Who holds the lock (its connection's application name), when another does. */
  holder: string | null;
  /** Why the database could not tell, for `unsure`. */
  error: string | null;
}

export class SoleOrchestrator {
  private current: SoleState = 'starting';
  private holderName: string | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly port: SoleLockPort,
    private readonly onChange: (c: SoleChange) => void = () => {},
  ) {}

  get state(): SoleState {
    return this.current;
  }

  /** The other holder's name while in standby. */
  get holder(): string | null {
    return this.holderName;
  }

  /** May this instance allocate and publish limits now? */
  mayAllocate(): boolean {
    return this.current === 'sole' || this.current === 'unsure';
  }

  /**
   * One round (every few seconds): checks the lock while held, else tries to take it. Rounds
   * never overlap: a call during one returns that one.
   */
  cycle(): Promise<void> {
    if (!this.running) this.running = this.round().finally(() => (this.running = null));
    return this.running;
  }

  /** Lets the lock go; the state stays (the instance is closing). */
  async release(): Promise<void> {
    await this.running?.catch(() => {});
    await this.port.release();
  }

  private async round(): Promise<void> {
    if (this.current === 'sole') {
      if (await this.port.check()) return;
      this.set('unsure', null, 'the connection that held the lock was lost');
    }
    const a = await this.port.tryAcquire();
    if (a.kind === 'held') this.set('sole', null, null);
    else if (a.kind === 'other') this.set('standby', a.holder, null);
    // The database cannot tell: a standby stays one (it saw another holder); any other allocates.
    else if (this.current !== 'standby') this.set('unsure', null, a.message);
  }

  private set(to: SoleState, holder: string | null, error: string | null): void {
    const from = this.current;
    this.holderName = holder;
    if (from === to) return;
    this.current = to;
    this.onChange({ from, to, holder, error });
  }
}
