// The config nodes as other nodes see them (RED.nodes.getNode(id) of that type).
import type { Pool } from 'pg';
import type { NodeInstance } from './red';
import type { IngestCounters } from '../../core/ingest/counters';

export interface FleetNode extends NodeInstance {
  counters: IngestCounters;
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
  health(timeoutMs?: number): Promise<{ ok: boolean; off?: boolean; error?: string }>;
}
