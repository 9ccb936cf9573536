-- The agent acts for the tenant, never for whoever wrote the ticket (SECURITY.md D1, D2).
--
-- The customer scope ----------------------------------------------------------------------------------
-- A second transaction-local setting, app.scope_customer_id, narrows a transaction to one customer
-- of its tenant. The triage worker's LLM loop runs every tool in such a transaction (the customer
-- of the job's ticket, fixed by the server from the job row); everything else (MCP clients, who
-- act for the tenant's staff, the REST API, the CLI, the worker's own bookkeeping) leaves it
-- unset. It is sent like the tenant context, `BEGIN; SET LOCAL app.current_user_id = '…';
-- SET LOCAL app.scope_customer_id = '…'`, formatted from typed UUIDs (SECURITY.md R3).
--
-- Every customer-owned table (one with a customer or a ticket to belong to) gets one RESTRICTIVE
-- policy, customer_scope, which PostgreSQL ANDs with the permissive tenant_isolation policy: with
-- the setting empty it admits every row of the tenant, so nothing changes for staff or for the
-- operator; with it set, only the scoped customer's rows, for reads (USING) and writes (WITH
-- CHECK) alike. Another customer's row is then "not found" to every tool, present and future,
-- exactly as another tenant's row is. The setting is read with NULLIF for the reason R4 gives.
--
-- Messages and jobs carry no customer_id; they belong to the customer of their ticket, looked up
-- by primary key (the subquery runs under the tickets policies too). With the setting empty the
-- first arm of the OR is true and the subquery never runs.

CREATE POLICY customer_scope ON customers AS RESTRICTIVE FOR ALL
    USING (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid)
    WITH CHECK (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid);

CREATE POLICY customer_scope ON tickets AS RESTRICTIVE FOR ALL
    USING (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid)
    WITH CHECK (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid);

CREATE POLICY customer_scope ON messages AS RESTRICTIVE FOR ALL
    USING (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = messages.user_id AND t.id = messages.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid))
    WITH CHECK (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = messages.user_id AND t.id = messages.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid));

-- A job without a ticket (a Stripe event) belongs to no customer, so a scoped transaction sees
-- none of those either.
CREATE POLICY customer_scope ON jobs AS RESTRICTIVE FOR ALL
    USING (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = jobs.user_id AND t.id = jobs.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid))
    WITH CHECK (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = jobs.user_id AND t.id = jobs.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid));

-- What the draft guard asks about the tenant's other customers ----------------------------------------
-- The guard looks at what a draft contains and asks for customers with those emails (the unique
-- key customers_user_id_email_key), those Stripe ids (customers_user_id_stripe_customer_id_key),
-- those phone numbers or those names; it never loads a tenant's customer list. The last two are
-- keys kept in generated columns rather than expression indexes: under forced row-level security
-- a condition may use an index only if every function in it is LEAKPROOF, and regexp_replace,
-- lower and split_part are not, so an expression index would never serve the service role
-- (measured: 1.1 s sequential scan of 100,000 customers, against 0.5 ms with these columns).
--
-- phone_key: a phone number's digits before any extension, the last nine of them, so that
-- "+1 (555) 010-9999" and "555.010.9999" meet (src/draft_check/scan.rs computes the same).
-- name_key: a name's first two words, lower-cased; a single-word name has none that a draft's
-- word pairs can match.
ALTER TABLE customers
    ADD COLUMN phone_key text GENERATED ALWAYS AS
        (right(regexp_replace(split_part(lower(phone), 'x', 1), '[^0-9]', '', 'g'), 9)) STORED,
    ADD COLUMN name_key text GENERATED ALWAYS AS
        (lower(split_part(regexp_replace(name, '\s+', ' ', 'g'), ' ', 1) || ' '
               || split_part(regexp_replace(name, '\s+', ' ', 'g'), ' ', 2))) STORED;
CREATE INDEX customers_user_id_phone_key_idx ON customers (user_id, phone_key)
    WHERE phone_key IS NOT NULL;
CREATE INDEX customers_user_id_name_key_idx ON customers (user_id, name_key);

-- Per-tenant settings ---------------------------------------------------------------------------------
-- link_domains: the hosts (and their subdomains) a draft may link to; any other link makes the
-- draft guard hold the draft. Written by `support-agent settings set` (and PUT /api/v1/settings),
-- validated by src/settings/. One row per tenant, absent until first set (an empty list).
CREATE TABLE tenant_settings (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    link_domains text[] NOT NULL DEFAULT '{}'
                 CHECK (cardinality(link_domains) <= 100
                        AND array_position(link_domains, NULL) IS NULL
                        AND char_length(array_to_string(link_domains, ',')) <= 26000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenant_settings_pkey PRIMARY KEY (user_id)
);
CREATE TRIGGER tenant_settings_set_updated_at BEFORE UPDATE ON tenant_settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE tenant_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_settings FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON tenant_settings FOR SELECT TO CURRENT_USER USING (true);

GRANT SELECT, INSERT, UPDATE ON tenant_settings TO support_agent_app;
