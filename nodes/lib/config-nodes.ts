// The config nodes as other nodes see them (RED.nodes.getNode(id) of that type).
import type { EventEmitter } from 'node:events';
import type { Pool } from 'pg';
import type { NodeInstance } from './red';
import type { IngestCounters } from '../../core/ingest/counters';
import type { Twin, TwinChange } from '../../core/twin';
import type { InboundMessage } from '../../core/contract';
import type { LastLimit } from '../../adapters/postgres';
import type { InfluxWriter } from '../../adapters/influx';

/** Where a batch of twin changes came from. */
export type ChangeOrigin = 'message' | 'tick' | 'restore' | 'operator';

export interface FleetNode extends NodeInstance {
  counters: IngestCounters;
  twin: Twin;
  /** 'changes' (changes: TwinChange[], origin: ChangeOrigin) after every applied batch. */
  events: EventEmitter;
  /** Resolves once the twin was restored from PostgreSQL (at once without a database). */
  ready: Promise<void>;
  /** Limits in force before the restart (latest orchestrator DLM event per node). */
  restoredLimits: LastLimit[];
  /** Applies one decoded message; returns its changes (also emitted as 'changes'). */
  ingest(msg: InboundMessage, nowMs: number): TwinChange[];
  /** Emits changes made outside ingest (operator actions, assignments). */
  publish(changes: TwinChange[], origin: ChangeOrigin): void;
}

export interface PostgresNode extends NodeInstance {
  pool: Pool | null;
  /** Resolves once migrations ran; rejects when the database cannot be prepared. */
  ready: Promise<void>;
  configError: string | null;
  health(timeoutMs?: number): Promise<{ ok: boolean; error?: string; latencyMs?: number }>;
}

export interface InfluxConfigNode extends NodeInstance {
  url: string;
  org: string;
  bucket: string;
  token: string;
  enabled: boolean;
  /** The one buffered writer of this configuration, shared by every node using it; null when off. */
  writer: InfluxWriter | null;
  health(timeoutMs?: number): Promise<{ ok: boolean; off?: boolean; error?: string; latencyMs?: number }>;
}
