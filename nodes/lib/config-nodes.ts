// The config nodes as other nodes see them (RED.nodes.getNode(id) of that type). Config nodes
// hold shared state and connections, as Node-RED's own `mqtt-broker` does; messages travel on
// wires only.
import type { Pool } from 'pg';
import type { Node } from './node-red';
import type { IngestCounters } from './ingest-counters';
import type { Twin, TwinChange } from '../../core/twin';
import type { LastLimit } from '../../adapters/postgres';
import type { InfluxWriter } from '../../adapters/influx';
import type { AuthOutcome } from './api/auth';
import type { ClusterMember, CycleResult, SoleState } from '../../core/cluster';
import type { IncomingHttpHeaders } from 'node:http';

export interface FleetNode extends Node {
  /** The fleet's digital twin. Read-only for every node but the wpt-twin that claimed it. */
  twin: Twin;
  counters: IngestCounters;
  /** Resolves once the twin was restored from PostgreSQL (at once without a database). */
  ready: Promise<void>;
  /** Limits in force before the restart (latest orchestrator DLM event per node). */
  restoredLimits: LastLimit[];
  /** Changes the restore made (sessions closed as duplicates …), handed once to the owner. */
  takeRestoreChanges(): TwinChange[];
  /** Makes `nodeId` the one node that changes the twin; false when another node holds it. */
  claim(nodeId: string): boolean;
  release(nodeId: string): void;
  /** Id of the node that changes the twin, or null. */
  readonly owner: string | null;
}

export interface PostgresNode extends Node<{ user?: string; password?: string }> {
  pool: Pool | null;
  /** Resolves once migrations ran; rejects when the database cannot be prepared. */
  ready: Promise<void>;
  configError: string | null;
  health(timeoutMs?: number): Promise<{ ok: boolean; error?: string; latencyMs?: number }>;
}

export interface InfluxConfigNode extends Node<{ token?: string }> {
  url: string;
  org: string;
  bucket: string;
  token: string;
  enabled: boolean;
  /** The one buffered writer of this configuration, shared by every node using it; null when off. */
  writer: InfluxWriter | null;
  health(timeoutMs?: number): Promise<{ ok: boolean; off?: boolean; error?: string; latencyMs?: number }>;
}

export interface ApiConfigNode extends Node<{ token?: string }> {
  /** sha256 hex of the API token, or null: then every request is refused. */
  tokenHash: string | null;
  tokenSource: 'credential' | 'settings' | 'env' | null;
  authorize(headers: IncomingHttpHeaders | undefined): AuthOutcome;
}

/** wpt-cluster: cluster mode's hub ownership (off: every hub is ours, nothing runs). */
export interface ClusterConfigNode extends Node {
  /** Cluster mode is on (also when misconfigured: then nothing may be published). */
  enabled: boolean;
  instanceId: string;
  configError: string | null;
  /** The lease book (null when off or misconfigured). */
  member: ClusterMember | null;
  /** The fence: may this instance publish for the hub now? Always true when off. */
  mayPublish(hubId: string): boolean;
  /** Epoch of this instance's lease of the hub (undefined when off or not held). */
  epochOf(hubId: string): number | undefined;
  /** Hubs held with an open fence now (empty when off). */
  ownedHubs(): string[];
  /** The limits in force stored for these hubs (latest orchestrator DLM event per node), for a takeover. */
  storedLimits(hubIds: readonly string[]): Promise<Array<{ hubId: string; nodeId: string; limitKw: number }>>;
  /** Called after every cycle (acquired = `started`, `lost`, `released`); returns an unsubscribe. */
  onCycle(fn: (r: CycleResult) => void): () => void;
  /**
   * Cluster mode off with a database: the sole-orchestrator lock (core/cluster/sole.ts) —
   * the DLM allocates only while `mayAllocate()`. Null in cluster mode and without a database.
   */
  sole: SoleGuard | null;
}

/** The sole-orchestrator lock of a single instance, as the allocator sees it. */
export interface SoleGuard {
  readonly state: SoleState;
  /** Who holds the lock while this instance stands by. */
  readonly holder: string | null;
  mayAllocate(): boolean;
  /** Resolves after the first round (the lock taken, another holder seen, or no answer). */
  settled: Promise<void>;
  /** Called after each change of state; returns an unsubscribe. */
  onChange(fn: () => void): () => void;
}
