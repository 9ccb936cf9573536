-- Audit of tool calls: one row per call of a tool (MCP over stdio or HTTP, or the agent loop).
--
-- Same shape as every tenant table (see 20261127000001_foundation.sql): user_id leads the key and
-- every index, row-level security ENABLED and FORCED with the tenant_isolation policy, and the
-- owner's read-only operator_read policy. What is stored is deliberately small: the tool's name, a
-- SHA-256 of its canonical arguments (never the arguments themselves, which can hold customer
-- text, and never the caller's token), the outcome, the latency and the transport.

CREATE TABLE tool_calls (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    tool        text NOT NULL CHECK (char_length(tool) BETWEEN 1 AND 100),
    args_sha256 text NOT NULL CHECK (args_sha256 ~ '^[0-9a-f]{64}$'),
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'not_found', 'invalid', 'error')),
    latency_us  bigint NOT NULL CHECK (latency_us >= 0),
    transport   text NOT NULL CHECK (transport IN ('stdio', 'http', 'agent')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tool_calls_pkey PRIMARY KEY (user_id, id)
);
CREATE INDEX tool_calls_user_id_created_idx ON tool_calls (user_id, created_at DESC, id DESC);

ALTER TABLE tool_calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE tool_calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tool_calls FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON tool_calls FOR SELECT TO CURRENT_USER USING (true);

-- An audit trail is appended to and read, never rewritten by the service.
GRANT SELECT, INSERT ON tool_calls TO support_agent_app;
