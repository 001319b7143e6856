-- The status benchmark's data (scripts/bench.sh status): @ROWS@ invitations of the agency
-- tech.gov.sg and @OTHER@ of hdb.gov.sg, interleaved, invited one after another over the
-- half year before @NOW@ (Unix ms), with the accounts that the app keeps beside them.
-- Rows look like what the app writes (app/src/server/invites.rs, directory.rs, signup.rs,
-- lifecycle.rs, relay.rs): public officers (gov.sg) by email invitation, Create account or
-- batch upload; vendors by Create account or batch upload, with a TechPass username;
-- statuses invited, created, active and revoked (most open ones long expired), some with a
-- failed delivery, a fifth with SEED asked for (pending or licensed). Names are known for the
-- rows with an account: made on the person's behalf, or signed up.
-- Portable SQL: bench.sh puts in the numbers and pipes it to sqlite3 or psql.

CREATE TEMPORARY TABLE bench_people AS
WITH RECURSIVE
    seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < @ROWS@ + @OTHER@),
    firsts(i, name) AS (VALUES (0, 'Wei'), (1, 'Siti'), (2, 'Arjun'), (3, 'Mei'), (4, 'Ahmad'),
        (5, 'Priya'), (6, 'Jun'), (7, 'Nurul'), (8, 'Daniel'), (9, 'Hui'), (10, 'Ravi'),
        (11, 'Li'), (12, 'Farah'), (13, 'Kai'), (14, 'Grace'), (15, 'Hafiz'), (16, 'Xin'),
        (17, 'Kumar'), (18, 'Rachel'), (19, 'Zhi')),
    lasts(i, name) AS (VALUES (0, 'Tan'), (1, 'Lim'), (2, 'Lee'), (3, 'Ng'), (4, 'Wong'),
        (5, 'Goh'), (6, 'Chua'), (7, 'Rahman'), (8, 'Koh'), (9, 'Teo'), (10, 'Ong'),
        (11, 'Nair'), (12, 'Chen'), (13, 'Yeo'), (14, 'Ismail'), (15, 'Low'), (16, 'Sim'),
        (17, 'Pillai'), (18, 'Ho'), (19, 'Seah')),
    base AS (
        SELECT s.n,
               -- Exactly @OTHER@ rows of the other agency, spread evenly.
               CASE WHEN CAST(s.n AS BIGINT) * @OTHER@ / (@ROWS@ + @OTHER@)
                         <> CAST(s.n - 1 AS BIGINT) * @OTHER@ / (@ROWS@ + @OTHER@)
                    THEN 'hdb.gov.sg' ELSE 'tech.gov.sg' END AS agency,
               CASE WHEN s.n % 4 = 0 THEN 'vendor' ELSE 'officer' END AS kind,
               f.name AS first_name,
               l.name AS last_name,
               @NOW@ - (@ROWS@ + @OTHER@ - s.n) * CAST(148000 AS BIGINT) AS created_at,
               (s.n / 3) % 20 AS r
        FROM seq s
        JOIN firsts f ON f.i = (s.n / 7) % 20
        JOIN lasts l ON l.i = (s.n / 13) % 20),
    typed AS (
        SELECT b.*,
               CASE WHEN b.kind = 'vendor' AND b.n % 8 = 0 THEN 'batch'
                    WHEN b.kind = 'vendor' THEN 'create'
                    WHEN (b.n / 5) % 3 = 0 THEN 'batch'
                    WHEN (b.n / 5) % 7 = 0 THEN 'create'
                    ELSE 'email' END AS invitation_type
        FROM base b),
    stated AS (
        SELECT t.*,
               CASE WHEN t.r < 9 THEN 'active'
                    WHEN t.r = 9 THEN 'revoked'
                    WHEN t.invitation_type = 'email' THEN 'invited'
                    ELSE 'created' END AS status
        FROM typed t)
SELECT s.n, s.agency, s.kind, s.invitation_type, s.status, s.created_at,
       s.first_name, s.last_name,
       CASE WHEN s.kind = 'vendor'
            THEN s.first_name || '.' || s.last_name || s.n || '@supplier' || (s.n % 50) || '.com'
            ELSE s.first_name || '.' || s.last_name || s.n || '@' || s.agency END AS email,
       CASE WHEN s.invitation_type <> 'email' OR s.status = 'active'
            THEN 'bench-account-' || s.n END AS account_id,
       CASE WHEN s.kind = 'vendor'
            THEN LOWER(s.first_name) || '.' || LOWER(s.last_name) || s.n END AS username,
       CASE WHEN s.status = 'active' THEN s.created_at + (s.n % 72 + 1) * 3600000
            WHEN s.status = 'revoked' THEN s.created_at + 86400000
            ELSE s.created_at + 60000 END AS changed_at
FROM stated s;

INSERT INTO accounts (id, email, email_key, username, kind, first_name, last_name,
                      contact_number, organisation, department, status, created_at, activated_at)
SELECT p.account_id, p.email, LOWER(p.email), p.username, p.kind, p.first_name, p.last_name,
       '+65' || (80000000 + p.n),
       CASE WHEN p.kind = 'vendor' THEN 'Supplier ' || (p.n % 50) || ' Pte Ltd'
            ELSE 'Agency ' || p.agency END,
       CASE WHEN p.n % 3 = 0 THEN 'Engineering' END,
       CASE WHEN p.status = 'active' THEN 'active' ELSE 'created' END,
       p.created_at,
       CASE WHEN p.status = 'active' THEN p.changed_at END
FROM bench_people p
WHERE p.account_id IS NOT NULL;

INSERT INTO invitations (id, email, email_key, kind, invitation_type, inviter_email,
                         inviter_agency, reason, seed_required, account_id, username, status,
                         token_hash, expires_at, created_at, updated_at, seed_status, delivery,
                         sent_at, reminders_sent)
SELECT 'bench-' || ((p.n * 2654435761) % 4294967296) || '-' || p.n,
       p.email, LOWER(p.email), p.kind, p.invitation_type,
       'officer' || (p.n % 30) || '@' || p.agency,
       p.agency,
       'Needs the Government Tech Stack for project ' || (p.n % 40),
       CASE WHEN p.n % 5 = 0 THEN 1 ELSE 0 END,
       p.account_id, p.username, p.status,
       'bench-token-' || p.n,
       p.created_at + 14 * 86400000,
       p.created_at,
       CASE WHEN p.changed_at > @NOW@ THEN @NOW@ ELSE p.changed_at END,
       CASE WHEN p.n % 5 <> 0 THEN 'not_requested'
            WHEN p.status = 'active' AND p.n % 10 = 0 THEN 'licensed'
            ELSE 'pending' END,
       CASE WHEN p.n > @ROWS@ + @OTHER@ - 20 THEN 'queued'
            WHEN p.n % 97 = 0 AND p.status <> 'active' THEN 'failed'
            ELSE 'sent' END,
       p.created_at,
       CASE WHEN p.status IN @OPEN@ AND p.created_at + 7 * 86400000 <= @NOW@ THEN 2
            WHEN p.status IN @OPEN@ AND p.created_at + 3 * 86400000 <= @NOW@ THEN 1
            ELSE 0 END
FROM bench_people p;

DROP TABLE bench_people;
ANALYZE;
