-- Channels, part 1 (issue G1): per-tenant ticket numbers, the signed intake webhook with its
-- idempotency records, the tenant's email channel, and the delivery state of outgoing messages.
--
-- Every new table has the shape of the others (20261127000001_foundation.sql): user_id leads
-- the key, row-level security ENABLED and FORCED with the one tenant_isolation policy, and the
-- owner's read-only operator_read policy. Secrets are sealed like Stripe keys
-- (20261127000020_stripe.sql): AES-256-GCM ciphertext, its nonce and the master key's id.

-- Ticket numbers ----------------------------------------------------------------------------------
-- 1, 2, 3 … within a tenant. The counter row is locked by the upsert that takes a number, so two
-- tickets created at once in one tenant wait for each other instead of taking the same number,
-- and tenants never wait for each other.
CREATE TABLE ticket_counters (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_number bigint NOT NULL CHECK (last_number >= 0),
    CONSTRAINT ticket_counters_pkey PRIMARY KEY (user_id)
);
ALTER TABLE ticket_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_counters FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON ticket_counters FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, UPDATE ON ticket_counters TO support_agent_app;

ALTER TABLE tickets ADD COLUMN number bigint;
-- Existing tickets are numbered in the order they were opened. The owner is subject to the
-- forced policies, so they are lifted for the backfill only, inside this migration's transaction.
ALTER TABLE tickets NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ticket_counters NO FORCE ROW LEVEL SECURITY;
UPDATE tickets t SET number = n.number
  FROM (SELECT user_id, id,
               row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS number
          FROM tickets) n
 WHERE t.user_id = n.user_id AND t.id = n.id;
INSERT INTO ticket_counters (user_id, last_number)
SELECT user_id, max(number) FROM tickets GROUP BY user_id;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;
ALTER TABLE ticket_counters FORCE ROW LEVEL SECURITY;
ALTER TABLE tickets ALTER COLUMN number SET NOT NULL;
ALTER TABLE tickets ADD CONSTRAINT tickets_user_id_number_key UNIQUE (user_id, number);

-- Runs as the inserting role (the service role), under its tenant context: the counter it takes
-- is its own tenant's. search_path pinned and tables qualified all the same (SECURITY.md D4).
CREATE FUNCTION assign_ticket_number() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.ticket_counters AS c (user_id, last_number)
    VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET last_number = c.last_number + 1
    RETURNING c.last_number INTO NEW.number;
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_assign_number BEFORE INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION assign_ticket_number();

-- Delivery of outgoing messages -------------------------------------------------------------------
-- queued → sending → sent; a temporary failure goes back to queued, a permanent one (or the last
-- attempt) to failed; a `sending` row found after a crash becomes uncertain and is never resent
-- by itself; no_channel when the tenant has no email channel. email_message_id is the RFC 5322
-- Message-ID, recorded before sending (and, for customers' mail, the id it came with).
ALTER TABLE messages
    ADD COLUMN delivery_state text CHECK (delivery_state IN
        ('queued', 'sending', 'sent', 'failed', 'uncertain', 'no_channel')),
    ADD COLUMN delivery_error text CHECK (char_length(delivery_error) <= 2000),
    ADD COLUMN email_message_id text CHECK (char_length(email_message_id) BETWEEN 3 AND 998),
    ADD COLUMN delivered_at timestamptz;
CREATE INDEX messages_user_id_email_message_id_idx ON messages (user_id, email_message_id)
    WHERE email_message_id IS NOT NULL;

-- The intake webhook's signing secrets ------------------------------------------------------------
-- key_id is `ik_<user id, 32 hex>_<16 hex>`: the tenant is read from it, and the secret looked up
-- inside that tenant's own transaction, as API keys are.
CREATE TABLE intake_secrets (
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id        text NOT NULL CHECK (key_id ~ '^ik_[0-9a-f]{32}_[0-9a-f]{16}$'),
    master_key_id text NOT NULL CHECK (master_key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    nonce         bytea NOT NULL CHECK (octet_length(nonce) = 12),
    ciphertext    bytea NOT NULL CHECK (octet_length(ciphertext) BETWEEN 17 AND 1040),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT intake_secrets_pkey PRIMARY KEY (user_id, key_id)
);
ALTER TABLE intake_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE intake_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON intake_secrets FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON intake_secrets FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON intake_secrets TO support_agent_app;

-- Signatures already used, so that a captured request cannot be sent again within the
-- tolerance. Rows older than the tolerance are useless (their timestamp is stale) and pruned.
CREATE TABLE intake_signatures (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest  bytea NOT NULL CHECK (octet_length(digest) = 32),
    seen_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT intake_signatures_pkey PRIMARY KEY (user_id, digest)
);
CREATE INDEX intake_signatures_user_id_seen_at_idx ON intake_signatures (user_id, seen_at);
ALTER TABLE intake_signatures ENABLE ROW LEVEL SECURITY;
ALTER TABLE intake_signatures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON intake_signatures FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON intake_signatures FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, DELETE ON intake_signatures TO support_agent_app;

-- Idempotency-Key records: the first answer, replayed for a retry with the same body (its
-- SHA-256 with the route); another body under the same key is refused.
CREATE TABLE intake_requests (
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    request_hash    bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    status          smallint,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT intake_requests_pkey PRIMARY KEY (user_id, idempotency_key)
);
ALTER TABLE intake_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE intake_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON intake_requests FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON intake_requests FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON intake_requests TO support_agent_app;

-- The email channel -------------------------------------------------------------------------------
-- One per tenant: the address replies come from, the SMTP server (and G2's IMAP server), the
-- login, and the password sealed like a Stripe key.
CREATE TABLE email_channels (
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address       text NOT NULL CHECK (char_length(address) BETWEEN 3 AND 254),
    smtp_url      text NOT NULL CHECK (smtp_url ~ '^smtps?://'),
    imap_url      text CHECK (imap_url ~ '^imaps?://'),
    username      text NOT NULL CHECK (char_length(username) BETWEEN 1 AND 254),
    master_key_id text NOT NULL CHECK (master_key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    nonce         bytea NOT NULL CHECK (octet_length(nonce) = 12),
    ciphertext    bytea NOT NULL CHECK (octet_length(ciphertext) BETWEEN 17 AND 1040),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT email_channels_pkey PRIMARY KEY (user_id)
);
CREATE TRIGGER email_channels_set_updated_at BEFORE UPDATE ON email_channels
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE email_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON email_channels FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON email_channels FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON email_channels TO support_agent_app;
