// The Node-RED runtime API as our nodes use it (types from @types/node-red), and the two
// helpers every node needs to read its editor properties.
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';

export type { Node, NodeAPI, NodeMessage, NodeMessageInFlow };

/** A node's editor properties: the definition plus whatever its form saves. */
export type Props = NodeDef & Record<string, unknown>;

export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type DoneFn = (err?: Error) => void;

/** Reads a numeric editor property, falling back to a default when empty or invalid. */
export function num(v: unknown, dflt: number): number {
  if (v === '' || v === undefined || v === null) return dflt;
  const n = Number(v);
  return Number.isFinite(n) ? n : dflt;
}

/** Reads a string editor property ('' when absent). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
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

/** The config node with this id, typed by the caller (null when unset or missing). */
export function configNode<T>(RED: NodeAPI, id: unknown): T | null {
  if (typeof id !== 'string' || id === '') return null;
  return (RED.nodes.getNode(id) as unknown as T | null) ?? null;
}

/**
 * Registers a node type whose instances carry more than Node-RED's `Node` (the config nodes'
 * shared state): the constructor's `this` is that richer type.
 */
export function registerNode<T extends Node<Record<string, string | undefined>>>(
  RED: NodeAPI,
  type: string,
  ctor: (this: T, def: Props) => void,
  opts?: { credentials?: Record<string, { type: 'text' | 'password' }> },
): void {
  RED.nodes.registerType(type, ctor as unknown as (this: Node, def: Props) => void, opts);
}
