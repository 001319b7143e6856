-- Storing a batch chunk writes some 3,500 search terms; each wrote two indexes. The second,
-- by invitation, served only re-indexing (at sign-up, and start-up's backfill), which now
-- deletes an invitation's terms through the lookup index: its terms are known from its own
-- columns (app/src/server/search.rs). On PostgreSQL it was 7 of a chunk's 18 ms of terms.
DROP INDEX invitation_terms_invitation;
-- Only the rows whose terms are older than the code's (TERMS_VERSION) are looked for, at
-- start-up: the index holds just those, none once they are indexed, so a new invitation
-- writes nothing into it. Raising TERMS_VERSION raises this bound in a new migration (a
-- test holds them together); until then the backfill reads the table instead of the index.
DROP INDEX invitations_terms_version;
CREATE INDEX invitations_terms_stale ON invitations (terms_version) WHERE terms_version < 1;
