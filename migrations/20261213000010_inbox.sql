-- Channels, part 2 (issue G2): the tenant's support mailbox, read over IMAP into tickets.
--
-- Same shape as every tenant table (20261127000001_foundation.sql): user_id leads every key,
-- row-level security ENABLED and FORCED with the one tenant_isolation policy, the owner's
-- read-only operator_read policy, and (for a table with a ticket to belong to) the restrictive
-- customer_scope policy of 20261210000010_customer_scope.sql.

-- Where the worker is in each mailbox ----------------------------------------------------------
-- One row per channel with an imap_url, removed with the channel. `source` is the imap_url and
-- login the position belongs to: another server or account starts again from its first mail
-- (inbound_emails then keeps a mail already read from being read twice). `uidvalidity` and
-- `last_uid` are IMAP's: every mail with a UID above last_uid is new, unless the server changed
-- UIDVALIDITY, which renumbers the mailbox. They advance in the transaction that stores a mail.
-- `watcher` and `lease_until` make one worker at a time read the mailbox; a worker that dies
-- leaves a lease that runs out. The last error and its time are what `channels email status`
-- reports; `failures` counts the attempts since the last success.
CREATE TABLE email_mailboxes (
    user_id       uuid NOT NULL REFERENCES email_channels (user_id) ON DELETE CASCADE,
    source        text NOT NULL CHECK (char_length(source) BETWEEN 1 AND 1000),
    uidvalidity   bigint CHECK (uidvalidity BETWEEN 0 AND 4294967295),
    last_uid      bigint NOT NULL DEFAULT 0 CHECK (last_uid BETWEEN 0 AND 4294967295),
    watcher       text CHECK (char_length(watcher) <= 200),
    lease_until   timestamptz,
    last_ok_at    timestamptz,
    last_error    text CHECK (char_length(last_error) <= 2000),
    last_error_at timestamptz,
    failures      integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    duplicates    bigint NOT NULL DEFAULT 0 CHECK (duplicates >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT email_mailboxes_pkey PRIMARY KEY (user_id)
);
CREATE TRIGGER email_mailboxes_set_updated_at BEFORE UPDATE ON email_mailboxes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE email_mailboxes ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_mailboxes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON email_mailboxes FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON email_mailboxes FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON email_mailboxes TO support_agent_app;

-- Every mail read, once ----------------------------------------------------------------------------
-- message_key is the mail's Message-ID (`<…>`), or `sha256:<hex>` of its headers when it has
-- none: unique per tenant, so the same mail read twice (delivered twice, a renumbered mailbox, a
-- worker that died before committing and read it again) is stored once. outcome says what it
-- became: a ticket, a message on a ticket, or why it became neither (an auto-reply, a bounce, a
-- loop of our own mail, a mail that cannot be used) with the reason. Attachments are kept as
-- names, types and sizes; their contents are not stored. A ticket or message deleted later
-- leaves the record (and its key) in place.
CREATE TABLE inbound_emails (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    message_key  text NOT NULL CHECK (char_length(message_key) BETWEEN 3 AND 998),
    uidvalidity  bigint NOT NULL CHECK (uidvalidity BETWEEN 0 AND 4294967295),
    uid          bigint NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),
    outcome      text NOT NULL CHECK (outcome IN
        ('ticket', 'message', 'auto_reply', 'bounce', 'loop', 'rejected')),
    reason       text CHECK (char_length(reason) <= 2000),
    from_address text CHECK (char_length(from_address) <= 320),
    subject      text CHECK (char_length(subject) <= 300),
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    attachments  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array'),
    ticket_id    uuid,
    message_id   uuid,
    received_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inbound_emails_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT inbound_emails_user_id_message_key_key UNIQUE (user_id, message_key),
    CONSTRAINT inbound_emails_user_id_ticket_id_fkey FOREIGN KEY (user_id, ticket_id)
        REFERENCES tickets (user_id, id) ON DELETE SET NULL (ticket_id),
    CONSTRAINT inbound_emails_user_id_message_id_fkey FOREIGN KEY (user_id, message_id)
        REFERENCES messages (user_id, id) ON DELETE SET NULL (message_id)
);
CREATE INDEX inbound_emails_user_id_outcome_idx ON inbound_emails (user_id, outcome);
CREATE INDEX inbound_emails_user_id_ticket_id_idx ON inbound_emails (user_id, ticket_id)
    WHERE ticket_id IS NOT NULL;
ALTER TABLE inbound_emails ENABLE ROW LEVEL SECURITY;
ALTER TABLE inbound_emails FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON inbound_emails FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON inbound_emails FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY customer_scope ON inbound_emails AS RESTRICTIVE FOR ALL
    USING (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = inbound_emails.user_id AND t.id = inbound_emails.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid))
    WITH CHECK (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = inbound_emails.user_id AND t.id = inbound_emails.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid));
GRANT SELECT, INSERT, UPDATE ON inbound_emails TO support_agent_app;

-- A customer's mail keeps its attachments' names, types and sizes on its message.
ALTER TABLE messages
    ADD COLUMN attachments jsonb CHECK (attachments IS NULL OR jsonb_typeof(attachments) = 'array');

-- The mailboxes to watch, before any tenant is known --------------------------------------------
-- The worker runs as the service role, which sees one tenant at a time, and must find every
-- tenant's mailbox. This one function answers with the tenant ids of channels that have an
-- imap_url and when each channel last changed, nothing else; the worker then reads the channel
-- inside that tenant's own transaction. D4: runs as the owner (whose operator_read policy sees
-- every channel), search_path pinned to pg_catalog, pg_temp, the table written public.….
CREATE FUNCTION email_mailboxes_to_watch()
    RETURNS TABLE (user_id uuid, changed_at timestamptz)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.user_id, c.updated_at FROM public.email_channels c
     WHERE c.imap_url IS NOT NULL ORDER BY c.user_id
$$;
REVOKE ALL ON FUNCTION email_mailboxes_to_watch() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION email_mailboxes_to_watch() TO support_agent_app;
