-- Stripe access per tenant: a restricted key (rk_…) kept encrypted, or a Connect account id used
-- with the platform key as the Stripe-Account header (SECURITY.md S1).
--
-- Same shape as every tenant table (see 20261127000001_foundation.sql): user_id leads the key,
-- row-level security ENABLED and FORCED with the tenant_isolation policy, and the owner's
-- read-only operator_read policy. A tenant has at most one way in, so user_id is the whole key.
--
-- A restricted key is stored as AES-256-GCM ciphertext (the tag appended) with its 12-byte nonce
-- and the id of the master key that sealed it, so that the master key can rotate: rows sealed
-- under an older key id stay readable while that key is listed in SECRETS_KEY_PREVIOUS, and
-- `support-agent stripe rekey` re-seals them under the current one. The plaintext key never
-- reaches the database; key_hint is its mode and last four characters (rk_live_…wxyz), which is
-- what Stripe's own dashboard shows. A Connect account id is not a secret and is kept as it is.

CREATE TABLE stripe_accounts (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mode       text NOT NULL CHECK (mode IN ('restricted_key', 'connect')),
    account_id text CHECK (account_id ~ '^acct_[A-Za-z0-9]{1,250}$'),
    key_id     text CHECK (key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    nonce      bytea CHECK (octet_length(nonce) = 12),
    ciphertext bytea CHECK (octet_length(ciphertext) BETWEEN 17 AND 1040),
    key_hint   text CHECK (char_length(key_hint) BETWEEN 1 AND 40),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stripe_accounts_pkey PRIMARY KEY (user_id),
    -- Exactly the columns of the row's mode are set: no half-written credential.
    CONSTRAINT stripe_accounts_mode_columns CHECK (
        (mode = 'restricted_key' AND account_id IS NULL AND key_id IS NOT NULL
            AND nonce IS NOT NULL AND ciphertext IS NOT NULL AND key_hint IS NOT NULL)
        OR (mode = 'connect' AND account_id IS NOT NULL AND key_id IS NULL
            AND nonce IS NULL AND ciphertext IS NULL AND key_hint IS NULL)
    )
);
-- Rotation finds the rows still sealed under an older master key.
CREATE INDEX stripe_accounts_user_id_key_id_idx ON stripe_accounts (user_id, key_id);
CREATE TRIGGER stripe_accounts_set_updated_at BEFORE UPDATE ON stripe_accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE stripe_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stripe_accounts FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON stripe_accounts FOR SELECT TO CURRENT_USER USING (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON stripe_accounts TO support_agent_app;
