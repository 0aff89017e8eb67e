// Cluster mode (issue #14, docs/scaling.md): the instances' memberships and the hubs' leases.
// Only an instance started with WPT_CLUSTER=1 writes here; a single instance leaves both
// tables empty.
// - cluster_instances: one row per instance id; `epoch` grows at every start (a process
//   whose epoch is no longer the row's must stop), `expires_at` is extended by heartbeats.
// - hub_leases: the owner of each hub; `epoch` grows at every change of owner (events carry
//   it), `expires_at` is extended by the owner's renewals. Rows are kept after a release so
//   the epoch never goes back. Renewals change only `expires_at`, which no index covers, so
//   they are HOT updates; the fill factor leaves room for them on each page.
export const id = '004_cluster';

export const sql = `
CREATE TABLE IF NOT EXISTS cluster_instances (
  instance_id text PRIMARY KEY CHECK (instance_id ~ '^[A-Za-z0-9._-]{1,64}$'),
  epoch       bigint NOT NULL CHECK (epoch > 0),
  expires_at  timestamptz NOT NULL,
  joined_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS hub_leases (
  hub_id      text PRIMARY KEY,
  owner       text NOT NULL,
  epoch       bigint NOT NULL CHECK (epoch > 0),
  expires_at  timestamptz NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS hub_leases_owner ON hub_leases (owner);
`;
