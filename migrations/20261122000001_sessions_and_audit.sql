-- Written in the SQL that SQLite and PostgreSQL share: one migration set for both.
-- Timestamps are stored as BIGINT (sessions: Unix seconds; everything else: Unix milliseconds).

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY, -- a UUID made by the app (portable; no SERIAL vs AUTOINCREMENT)
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_actor_at ON audit_log (actor, at);
