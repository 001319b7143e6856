-- A session signed in through the identity provider records the provider's subject (`sub`)
-- and session ID (`sid`), so that a back-channel logout from the provider can find and end it.
ALTER TABLE sessions ADD COLUMN subject TEXT;
ALTER TABLE sessions ADD COLUMN provider_sid TEXT;
CREATE INDEX sessions_subject ON sessions (subject);
CREATE INDEX sessions_provider_sid ON sessions (provider_sid);
