-- Hardening (issue J3): the audit's argument digest becomes an HMAC under a server key and the
-- trail covers resource reads and prompt fetches; operator-issued tokens are recorded so that
-- `token revoke --jti` finds their tenant; one Connect account belongs to one tenant.

-- Audit ------------------------------------------------------------------------------------------
-- The digest is HMAC-SHA256 under AUDIT_KEY: a bare SHA-256 of `{"email": …}` falls to a
-- dictionary of likely emails; a keyed one does not without the key.
ALTER TABLE tool_calls RENAME COLUMN args_sha256 TO args_hmac;
ALTER TABLE tool_calls RENAME CONSTRAINT tool_calls_args_sha256_check TO tool_calls_args_hmac_check;
-- What was called: a tool, a resource read (`tool` is the template: ticket, customer) or a prompt
-- fetch (`tool` is the prompt's name).
ALTER TABLE tool_calls ADD COLUMN kind text NOT NULL DEFAULT 'tool'
    CHECK (kind IN ('tool', 'resource', 'prompt'));

-- Tokens an operator issued (`token issue`): their tenant, for `token revoke --jti` ------------
CREATE TABLE issued_tokens (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    jti        uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT issued_tokens_pkey PRIMARY KEY (user_id, jti)
);
CREATE INDEX issued_tokens_jti_idx ON issued_tokens (jti);
ALTER TABLE issued_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE issued_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON issued_tokens FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON issued_tokens FOR SELECT TO CURRENT_USER USING (true);
GRANT SELECT, INSERT, DELETE ON issued_tokens TO support_agent_app;

-- One Connect account, one tenant ----------------------------------------------------------------
-- Otherwise a second tenant could attach itself to the first one's Stripe account. Citus: a
-- unique constraint without user_id cannot be enforced across shards; `migrate --citus` keeps
-- it through a reference table instead.
ALTER TABLE stripe_accounts ADD CONSTRAINT stripe_accounts_account_id_key UNIQUE (account_id);
