-- Accounts over HTTP (SECURITY.md W1–W2, D4): sessions with rotating refresh tokens, API keys,
-- and the revocation list every request is checked against.
--
-- Same shape as every tenant table (see 20261127000001_foundation.sql): user_id leads every key,
-- children reference parents through (user_id, parent_id), row-level security ENABLED and FORCED
-- with the tenant_isolation policy, and the owner's read-only operator_read policy. Credentials
-- are stored as SHA-256 digests of high-entropy random secrets, never as themselves.
-- Citus: all four are tenant tables, distributed by user_id with the others.

-- Sessions: one per login or registration; its refresh tokens rotate on every use ---------------
CREATE TABLE sessions (
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id             uuid NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz NOT NULL DEFAULT now(),
    -- A session ends here whatever its refreshes (SESSION_TTL).
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text CHECK (revoked_reason IN ('logout', 'reuse', 'password_change', 'operator')),
    user_agent     text CHECK (char_length(user_agent) <= 300),
    CONSTRAINT sessions_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT sessions_revoked_has_reason CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);

CREATE TABLE refresh_tokens (
    user_id    uuid NOT NULL,
    id         uuid NOT NULL,
    session_id uuid NOT NULL,
    token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Set when the token is exchanged: presenting it again is reuse, and ends the session.
    used_at    timestamptz,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT refresh_tokens_user_id_token_hash_key UNIQUE (user_id, token_hash),
    CONSTRAINT refresh_tokens_user_id_session_id_fkey FOREIGN KEY (user_id, session_id)
        REFERENCES sessions (user_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_user_id_session_id_idx ON refresh_tokens (user_id, session_id);

-- API keys: for a tenant's own back end (intake) and MCP clients ---------------------------------
CREATE TABLE api_keys (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    scope        text NOT NULL CHECK (scope IN ('full', 'intake')),
    -- What lists show: the key's start, e.g. sa_0190f1f48e3a…_Xy12.
    prefix       text NOT NULL CHECK (char_length(prefix) BETWEEN 1 AND 64),
    key_hash     bytea NOT NULL CHECK (octet_length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT api_keys_user_id_key_hash_key UNIQUE (user_id, key_hash)
);

-- Revoked access tokens, by jti, kept until they would have expired anyway ----------------------
CREATE TABLE revoked_tokens (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    jti        uuid NOT NULL,
    -- When the token expires: the row is useless afterwards and may be pruned.
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT revoked_tokens_pkey PRIMARY KEY (user_id, jti)
);
-- `token revoke --all --user`: every token issued before this moment is refused.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;

-- Row-level security -------------------------------------------------------------------------------
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON sessions FOR SELECT TO CURRENT_USER USING (true);

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON refresh_tokens FOR SELECT TO CURRENT_USER USING (true);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON api_keys FOR SELECT TO CURRENT_USER USING (true);

ALTER TABLE revoked_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE revoked_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON revoked_tokens FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON revoked_tokens FOR SELECT TO CURRENT_USER USING (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, refresh_tokens, api_keys TO support_agent_app;
GRANT SELECT, INSERT, DELETE ON revoked_tokens TO support_agent_app;
-- A tenant deletes itself (DELETE /api/v1/me) under its own context; everything it owns goes with
-- it through ON DELETE CASCADE.
GRANT DELETE ON users TO support_agent_app;

-- Login by email, before any tenant is known ----------------------------------------------------
-- `users` rows are visible only to their own tenant, and `serve` never holds the owner role, so
-- login asks this one function: the id and password hash of the user with that email (an email
-- is unique across tenants), and nothing else. D4: runs as the owner (whose operator_read policy
-- sees every user), search_path pinned to pg_catalog, pg_temp, the table written public.users.
CREATE FUNCTION auth_user_by_email(email text)
    RETURNS TABLE (id uuid, password_hash text)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.password_hash FROM public.users u WHERE u.email = lower(btrim($1))
$$;
REVOKE ALL ON FUNCTION auth_user_by_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text) TO support_agent_app;
