// Cluster mode (issue #14, docs/scaling.md): the owner's lease epoch of each of our DLM events.
// The allocator puts it in the event payload (`owner_epoch`, an extra field); wpt-store keeps it
// here. NULL outside cluster mode, for rows stored before this migration, and for a hub's own
// events (decode keeps only the contract's fields, and a hub's claims are never trusted). No
// index: nothing filters or sorts on it yet.
export const id = '005_owner_epoch';

export const sql = `
ALTER TABLE dlm_events ADD COLUMN IF NOT EXISTS owner_epoch bigint;
`;
