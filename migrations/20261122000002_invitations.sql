-- Invitations, the built-in TechPass directory, and the transactional email outbox.
-- Portable SQL (SQLite and PostgreSQL); ids are UUIDs made by the app; times are Unix ms.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    username TEXT UNIQUE,
    kind TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    contact_number TEXT,
    organisation TEXT,
    department TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activated_at BIGINT
);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    invitation_type TEXT NOT NULL,
    inviter_email TEXT NOT NULL,
    inviter_agency TEXT NOT NULL,
    reason TEXT NOT NULL,
    seed_required BIGINT NOT NULL, -- 0 or 1: portable through sqlx's Any driver
    account_id TEXT,
    username TEXT,
    status TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- At most one open invitation per address, whatever the race.
CREATE UNIQUE INDEX invitations_one_open_per_email
    ON invitations (email_key) WHERE status IN ('invited', 'created');
CREATE INDEX invitations_agency_created ON invitations (inviter_agency, created_at);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    invitation_id TEXT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- Where mail goes under `make run` when no SMTP server is configured.
CREATE TABLE dev_mailbox (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
