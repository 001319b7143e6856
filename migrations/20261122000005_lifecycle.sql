-- The invitation lifecycle: Resend (a new link; the old link's hash is kept so it can say it
-- was replaced), reminders on configured days, and the limits on resending.
-- Portable SQL (SQLite and PostgreSQL); times are Unix ms.

-- When the current link was sent (the invitation, or its last Resend), and how many of the
-- configured reminders have gone since.
ALTER TABLE invitations ADD COLUMN sent_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invitations ADD COLUMN reminders_sent BIGINT NOT NULL DEFAULT 0;
UPDATE invitations SET sent_at = created_at;
CREATE INDEX invitations_open_sent ON invitations (status, sent_at);

CREATE TABLE superseded_tokens (
    token_hash TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL,
    superseded_at BIGINT NOT NULL
);

CREATE TABLE resends (
    id TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL,
    officer_email TEXT NOT NULL, -- the officer's email key
    at BIGINT NOT NULL
);
CREATE INDEX resends_invitation_at ON resends (invitation_id, at);
CREATE INDEX resends_officer_at ON resends (officer_email, at);
