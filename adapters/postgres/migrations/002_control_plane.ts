// The operators' control plane and what survives a restart:
// - hubs: `is_active` becomes the operator's switch (as in the original API); the hub's own
//   availability (online, fresh), which 001 stored there, moves to `available`. Capacity
//   override (kW and window) and `registered` (created or taken over by an operator).
// - nodes: the operator's maintenance apart from the effective one (`is_maintenance`, which
//   includes a hub in maintenance), max-power override, `registered`, the pending request
//   assignment (vehicle, receipt and message time, SoC), the vehicle whose session an
//   operator ended.
// - vehicles: `registered`.
// - dlm_events: what a hub's event claimed to be (`claimed_source`); source stays 'hub'.
// - audit_log: who did what to which hub/node/vehicle/session, with the settings before
//   and after and the operator's note.
export const id = '002_control_plane';

export const sql = `
ALTER TABLE hubs ADD COLUMN IF NOT EXISTS available boolean;
UPDATE hubs SET available = is_active, is_active = true;
ALTER TABLE hubs ADD COLUMN IF NOT EXISTS capacity_override_kw double precision
  CHECK (capacity_override_kw IS NULL OR capacity_override_kw >= 0);
ALTER TABLE hubs ADD COLUMN IF NOT EXISTS capacity_override_from timestamptz;
ALTER TABLE hubs ADD COLUMN IF NOT EXISTS capacity_override_until timestamptz;
ALTER TABLE hubs ADD COLUMN IF NOT EXISTS registered boolean NOT NULL DEFAULT false;

ALTER TABLE nodes ADD COLUMN IF NOT EXISTS operator_maintenance boolean NOT NULL DEFAULT false;
-- Until now only the effective flag was stored: a node in maintenance under a hub that is not
-- was put there by an operator.
UPDATE nodes n SET operator_maintenance = true
  FROM hubs h
 WHERE h.hub_id = n.hub_id AND n.is_maintenance AND h.state IS DISTINCT FROM 'maintenance';
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS max_power_override_kw double precision
  CHECK (max_power_override_kw IS NULL OR max_power_override_kw >= 0);
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS registered boolean NOT NULL DEFAULT false;
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS assigned_vehicle_id varchar(50);
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS assigned_at timestamptz;
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS assigned_ts timestamptz;
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS assigned_soc double precision;
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS operator_ended_vehicle_id varchar(50);

ALTER TABLE vehicles ADD COLUMN IF NOT EXISTS registered boolean NOT NULL DEFAULT false;

ALTER TABLE dlm_events ADD COLUMN IF NOT EXISTS claimed_source text;

CREATE TABLE IF NOT EXISTS audit_log (
  id         bigserial PRIMARY KEY,
  -- Idempotent writes (the write queue retries): one row per operator action.
  event_key  text NOT NULL UNIQUE,
  ts         timestamptz NOT NULL,
  actor      text NOT NULL,
  op         text NOT NULL,
  hub_id     varchar(50),
  node_id    varchar(50),
  vehicle_id varchar(50),
  session_id text,
  before     jsonb,
  after      jsonb,
  note       text
);
CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log (ts DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_hub_ts ON audit_log (hub_id, ts DESC) WHERE hub_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_log_vehicle_ts ON audit_log (vehicle_id, ts DESC) WHERE vehicle_id IS NOT NULL;
`;
