// Charging sessions get a number: the original system's API (ORIGINAL-API.md) names a session
// by an auto-increment integer (`charging_session_id`), its clients keep it and send it back
// (GET/DELETE /sessions/{id}, POST /sessions/{id}/end). The text `session_id` stays the key;
// existing rows are numbered in their storage order, new ones as they are inserted.
export const id = '003_session_numbers';

export const sql = `
ALTER TABLE charging_sessions ADD COLUMN IF NOT EXISTS id bigserial;
CREATE UNIQUE INDEX IF NOT EXISTS charging_sessions_id ON charging_sessions (id);
`;
