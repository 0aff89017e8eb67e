// Health of the orchestrator from the state of its dependencies.

export type DependencyState = 'ok' | 'down' | 'off';

export interface DependencyHealth {
  state: DependencyState;
  required: boolean;
  error?: string;
  latency_ms?: number;
  /** The time series writer's line counts (InfluxDB): what was written, dropped, waiting. */
  points?: { written: number; dropped: number; buffered: number };
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  statusCode: 200 | 503;
  dependencies: Record<string, DependencyHealth>;
}

/** 200 only when every required dependency is ok; optional ones down make it `degraded`. */
export function summariseHealth(deps: Record<string, DependencyHealth>): HealthReport {
  const list = Object.values(deps);
  const requiredDown = list.some((d) => d.required && d.state !== 'ok');
  const optionalDown = list.some((d) => !d.required && d.state === 'down');
  const status = requiredDown ? 'down' : optionalDown ? 'degraded' : 'ok';
  return { status, statusCode: requiredDown ? 503 : 200, dependencies: deps };
}
