-- Foundation: tenants (users), customers, tickets, messages.
--
-- Run as the owner role (DATABASE_OWNER_URL). Everything else connects as the service role
-- support_agent_app, which scripts/setup.sh creates NOSUPERUSER NOBYPASSRLS and which owns nothing.
--
-- Shape of every tenant table (SECURITY.md R1–R6):
--   * user_id leads the primary key and every unique constraint, so the schema can be distributed
--     by user_id (Citus) without a redesign;
--   * children reference parents through (user_id, parent_id), so no row can point into another
--     tenant: foreign-key checks bypass row-level security, composite keys do not let them cross;
--   * row-level security ENABLED and FORCED, with one policy for every role, USING and WITH CHECK,
--     reading NULLIF(current_setting('app.current_user_id', true), '')::uuid: after COMMIT the
--     setting reads '' rather than NULL, and a bare ''::uuid would raise instead of matching nothing;
--   * one extra read-only policy for the owner role (the migrating role, CURRENT_USER here), which
--     the operator's cross-tenant `stats` command uses. The service role gets no such policy.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'support_agent_app') THEN
        RAISE EXCEPTION 'role support_agent_app does not exist: run scripts/setup.sh first';
    END IF;
END
$$;

CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
    -- An update that changes nothing keeps updated_at, so repeating a write is a true no-op.
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

-- Tenants ------------------------------------------------------------------------------------------
CREATE TABLE users (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    email              text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320 AND email = lower(email)),
    password_hash      text CHECK (char_length(password_hash) <= 500),
    stripe_customer_id text CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]{1,250}$'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_stripe_customer_id_key UNIQUE (stripe_customer_id)
);
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Customers of a tenant ----------------------------------------------------------------------------
CREATE TABLE customers (
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id                 uuid NOT NULL,
    name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    email              text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320 AND email = lower(email)),
    phone              text CHECK (char_length(phone) BETWEEN 1 AND 40),
    stripe_customer_id text CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]{1,250}$'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT customers_user_id_email_key UNIQUE (user_id, email),
    CONSTRAINT customers_user_id_stripe_customer_id_key UNIQUE (user_id, stripe_customer_id)
);
CREATE INDEX customers_user_id_created_idx ON customers (user_id, created_at, id);
CREATE TRIGGER customers_set_updated_at BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Tickets ------------------------------------------------------------------------------------------
CREATE TABLE tickets (
    user_id     uuid NOT NULL,
    id          uuid NOT NULL,
    customer_id uuid NOT NULL,
    subject     text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 300),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 20000),
    status      text NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'pending', 'solved', 'closed')),
    priority    text NOT NULL DEFAULT 'medium'
                CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tickets_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT tickets_user_id_customer_id_fkey FOREIGN KEY (user_id, customer_id)
        REFERENCES customers (user_id, id) ON DELETE CASCADE
);
CREATE INDEX tickets_user_id_idx ON tickets (user_id);
CREATE INDEX tickets_user_id_status_idx ON tickets (user_id, status);
CREATE INDEX tickets_user_id_customer_id_idx ON tickets (user_id, customer_id);
-- Keyset pagination, newest first.
CREATE INDEX tickets_user_id_created_idx ON tickets (user_id, created_at DESC, id DESC);
CREATE TRIGGER tickets_set_updated_at BEFORE UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Messages on a ticket -----------------------------------------------------------------------------
CREATE TABLE messages (
    user_id     uuid NOT NULL,
    id          uuid NOT NULL,
    ticket_id   uuid NOT NULL,
    sender_type text NOT NULL CHECK (sender_type IN ('agent', 'customer', 'ai')),
    content     text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 20000),
    -- Only ai messages are drafts; a person moves them on (approved, sent) or discards them.
    draft_state text CHECK (draft_state IN ('draft', 'approved', 'sent', 'discarded')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT messages_user_id_ticket_id_fkey FOREIGN KEY (user_id, ticket_id)
        REFERENCES tickets (user_id, id) ON DELETE CASCADE,
    CONSTRAINT messages_draft_state_only_for_ai CHECK ((sender_type = 'ai') = (draft_state IS NOT NULL))
);
CREATE INDEX messages_user_id_ticket_id_idx ON messages (user_id, ticket_id, created_at, id);

-- Row-level security -------------------------------------------------------------------------------
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users FOR ALL
    USING (id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON users FOR SELECT TO CURRENT_USER USING (true);

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON customers FOR SELECT TO CURRENT_USER USING (true);

ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tickets FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON tickets FOR SELECT TO CURRENT_USER USING (true);

ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON messages FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON messages FOR SELECT TO CURRENT_USER USING (true);

-- The service role: DML only, nothing it could use to change the schema or skip a policy.
GRANT SELECT, INSERT, UPDATE ON users TO support_agent_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON customers, tickets, messages TO support_agent_app;
