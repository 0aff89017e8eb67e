// Initial schema: the original system's entities (hubs, nodes, vehicles, charging sessions,
// DLM events) plus what DESIGN.md adds (states, SoC, priorities, event source, allocation).
// Time series are not stored here (InfluxDB).
export const id = '001_initial';

export const sql = `
CREATE TABLE IF NOT EXISTS hubs (
  hub_id               varchar(50) PRIMARY KEY CHECK (char_length(hub_id) >= 1),
  latitude             double precision,
  longitude            double precision,
  altitude             double precision,
  max_grid_capacity_kw double precision,
  ip_address           text,
  firmware_version     text,
  state                text,
  cpu_temp             double precision,
  is_active            boolean NOT NULL DEFAULT true,
  last_seen            timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS nodes (
  hub_id             varchar(50) NOT NULL REFERENCES hubs (hub_id) ON DELETE CASCADE,
  node_id            varchar(50) NOT NULL CHECK (char_length(node_id) >= 1),
  name               text,
  max_power_kw       double precision,
  state              text,
  error_code         integer NOT NULL DEFAULT 0,
  current_vehicle_id varchar(50),
  is_maintenance     boolean NOT NULL DEFAULT false,
  power_kw           double precision,
  power_limit_kw     double precision,
  last_seen          timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (hub_id, node_id)
);

CREATE TABLE IF NOT EXISTS vehicles (
  vehicle_id           varchar(50) PRIMARY KEY CHECK (char_length(vehicle_id) >= 1),
  model                text,
  manufacturer         text,
  driver               text,
  battery_capacity_kwh double precision,
  priority             boolean NOT NULL DEFAULT false,
  soc                  double precision,
  soc_source           text,
  soc_class            text,
  latitude             double precision,
  longitude            double precision,
  last_seen            timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS charging_sessions (
  session_id       text PRIMARY KEY,
  hub_id           varchar(50) NOT NULL,
  node_id          varchar(50) NOT NULL,
  vehicle_id       varchar(50),
  start_time       timestamptz NOT NULL,
  end_time         timestamptz,
  energy_kwh       double precision NOT NULL DEFAULT 0,
  average_power_kw double precision,
  peak_power_kw    double precision,
  start_soc        double precision,
  end_soc          double precision,
  close_reason     text,
  last_sample_at   timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- At most one open session per node (node ids are only unique inside a hub).
CREATE UNIQUE INDEX IF NOT EXISTS charging_sessions_one_open_per_node
  ON charging_sessions (hub_id, node_id) WHERE end_time IS NULL;
CREATE INDEX IF NOT EXISTS charging_sessions_node_start ON charging_sessions (hub_id, node_id, start_time DESC);
CREATE INDEX IF NOT EXISTS charging_sessions_vehicle_start ON charging_sessions (vehicle_id, start_time DESC);
CREATE INDEX IF NOT EXISTS charging_sessions_start ON charging_sessions (start_time DESC);

CREATE TABLE IF NOT EXISTS dlm_events (
  id                 bigserial PRIMARY KEY,
  event_key          text NOT NULL UNIQUE,
  hub_id             varchar(50) NOT NULL,
  node_id            varchar(50) NOT NULL,
  trigger_reason     text NOT NULL,
  original_limit     double precision,
  new_limit          double precision NOT NULL,
  total_grid_load    double precision,
  available_capacity double precision,
  source             text NOT NULL DEFAULT 'orchestrator',
  allocation_id      text,
  policy             text,
  ts                 timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS dlm_events_hub_ts ON dlm_events (hub_id, ts DESC);
CREATE INDEX IF NOT EXISTS dlm_events_hub_node_ts ON dlm_events (hub_id, node_id, ts DESC);
CREATE INDEX IF NOT EXISTS dlm_events_ts ON dlm_events (ts DESC);
-- Restart: the latest orchestrator limit per node.
CREATE INDEX IF NOT EXISTS dlm_events_orchestrator_latest
  ON dlm_events (hub_id, node_id, ts DESC, id DESC) WHERE source = 'orchestrator';
`;
