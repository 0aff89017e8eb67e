// The small part of the Node-RED runtime API our nodes use, typed.

export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null> | null) => void;
export type DoneFn = (err?: Error) => void;

export interface NodeInstance {
  id: string;
  type: string;
  name?: string;
  z?: string;
  credentials?: Record<string, string | undefined>;
  on(event: 'input', handler: (msg: NodeMessage, send: SendFn, done: DoneFn) => void | Promise<void>): void;
  on(event: 'close', handler: (removed: boolean, done: () => void) => void): void;
  on(event: string, handler: (...args: never[]) => void): void;
  send: SendFn;
  status(status: NodeStatus | Record<string, never>): void;
  log(msg: unknown): void;
  warn(msg: unknown): void;
  error(err: unknown, msg?: NodeMessage): void;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  [key: string]: unknown;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType<T extends NodeInstance>(
      type: string,
      ctor: (this: T, def: NodeDef) => void,
      opts?: {
        credentials?: Record<string, { type: 'text' | 'password' }>;
        settings?: Record<string, unknown>;
      },
    ): void;
    getNode(id: string): unknown;
  };
  settings: Record<string, unknown>;
  _: (key: string, subs?: Record<string, unknown>) => string;
  log: { info(m: string): void; warn(m: string): void; error(m: string): void };
  httpAdmin?: unknown;
}

/** Reads a numeric editor property, falling back to a default when empty or invalid. */
export function num(v: unknown, dflt: number): number {
  if (v === '' || v === undefined || v === null) return dflt;
  const n = Number(v);
  return Number.isFinite(n) ? n : dflt;
}

/**
 * Resolves `${ENV_VAR}` in a value our own nodes read (Node-RED maps env references in
 * ordinary properties, not in credentials): lets a flow name a secret without holding it.
 */
export function fromEnvRef(v: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (v === undefined) return undefined;
  const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(v.trim());
  return m ? env[m[1]!] : v;
}

/**
 * Status updates go to every open editor: a node that handles many messages refreshes its
 * status at most once per `ms` (the latest state wins). Call `stop()` on close.
 */
export function statusThrottle(
  node: Pick<NodeInstance, 'status'>,
  compute: () => NodeStatus,
  ms = 500,
): { refresh(): void; stop(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  return {
    refresh() {
      if (stopped || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (!stopped) node.status(compute());
      }, ms);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
