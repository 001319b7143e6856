-- Batch upload: one row per uploaded list (keyed by the UUID the browser made when the file was
-- uploaded) and one row per invited line of it. Portable SQL (SQLite and PostgreSQL); times
-- are Unix ms.

CREATE TABLE batches (
    id TEXT PRIMARY KEY, -- the batch key: a UUID made in the browser, in lower-case hyphenated form
    inviter_email TEXT NOT NULL,
    inviter_agency TEXT NOT NULL,
    file_name TEXT NOT NULL,
    invited_count BIGINT NOT NULL, -- rows invited under this key (equals its batch_rows)
    rejected_count BIGINT NOT NULL, -- rejections answered, summed over calls (a retried row counts again)
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX batches_inviter_created ON batches (inviter_email, created_at);

-- A line of a batch that was invited. The primary key makes a resubmitted line (a double
-- click, a retry, a second tab) find its invitation instead of making another; a rejected
-- line leaves no row, so its corrected version is processed like a new one.
CREATE TABLE batch_rows (
    batch_id TEXT NOT NULL,
    row_id TEXT NOT NULL,
    invitation_id TEXT NOT NULL,
    email_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (batch_id, row_id)
);
CREATE INDEX batch_rows_invitation ON batch_rows (invitation_id);
