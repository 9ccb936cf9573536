-- Stripe actions (issue I2): refunds and subscription cancellations that the agent or an MCP
-- client proposes and a person approves; approval executes once.
--
-- Same shape as every tenant table (20261127000001_foundation.sql): user_id leads the key,
-- row-level security ENABLED and FORCED with the one tenant_isolation policy, the owner's
-- read-only operator_read policy, and the customer_scope of a triage job's transaction (an action
-- belongs to the customer of its ticket, as messages and jobs do).
--
-- Citus: a tenant table distributed by user_id, colocated with tickets (its key and its foreign
-- key lead with user_id).

-- The actions -------------------------------------------------------------------------------------
-- status: pending → executing → succeeded | failed, pending → rejected. `executing` is written in
-- one conditional update (… WHERE status = 'pending'), so that of two approvals at once one finds
-- nothing pending; an action still `executing` after a crash or an unanswered request is tried
-- again (the stripe_action job) with the same idempotency key, `action:{id}`.
-- Money is an integer in the currency's smallest unit (cents, yen), as Stripe counts it.
CREATE TABLE actions (
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    ticket_id        uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('refund', 'subscription_cancel')),
    status           text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'rejected', 'executing', 'succeeded', 'failed')),
    -- The charge (ch_…) to refund or the subscription (sub_…) to cancel.
    stripe_object_id text NOT NULL CHECK (stripe_object_id ~ '^(ch|sub)_[A-Za-z0-9]{1,250}$'),
    -- The Stripe customer the object belonged to when it was proposed (the ticket's customer's).
    stripe_customer_id text NOT NULL CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]{1,250}$'),
    amount           bigint CHECK (amount > 0),
    currency         text CHECK (currency ~ '^[a-z]{3}$'),
    reason           text CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
    at_period_end    boolean,
    -- What Stripe made: the refund (re_…) or the subscription it changed.
    stripe_result_id text CHECK (stripe_result_id ~ '^[a-z]{2,8}_[A-Za-z0-9]{1,250}$'),
    error            text CHECK (char_length(error) <= 2000),
    proposed_by      text NOT NULL CHECK (char_length(proposed_by) BETWEEN 1 AND 100),
    decided_by       text CHECK (char_length(decided_by) <= 100),
    -- Why a person rejected it, if they said.
    decision_reason  text CHECK (char_length(decision_reason) <= 2000),
    -- Requests made to Stripe to carry it out (one, but for a retry after no answer).
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT actions_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT actions_user_id_ticket_id_fkey FOREIGN KEY (user_id, ticket_id)
        REFERENCES tickets (user_id, id) ON DELETE CASCADE,
    CONSTRAINT actions_kind_fields CHECK (
        CASE kind
            WHEN 'refund' THEN stripe_object_id LIKE 'ch\_%' AND amount IS NOT NULL
                AND currency IS NOT NULL AND reason IS NOT NULL AND at_period_end IS NULL
            WHEN 'subscription_cancel' THEN stripe_object_id LIKE 'sub\_%' AND amount IS NULL
                AND currency IS NULL AND reason IS NULL AND at_period_end IS NOT NULL
        END
    ),
    CONSTRAINT actions_decided CHECK ((status = 'pending') = (decided_at IS NULL)),
    CONSTRAINT actions_finished CHECK (
        (status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL)
    ),
    CONSTRAINT actions_result CHECK (status <> 'succeeded' OR stripe_result_id IS NOT NULL)
);
CREATE TRIGGER actions_set_updated_at BEFORE UPDATE ON actions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- One open proposal per ticket, kind and object: a second identical proposal finds the first.
CREATE UNIQUE INDEX actions_open_key ON actions (user_id, ticket_id, kind, stripe_object_id)
    WHERE status IN ('pending', 'executing');
-- GET /api/v1/actions?status=…: newest first.
CREATE INDEX actions_user_id_created_at_idx ON actions (user_id, created_at DESC, id DESC);
CREATE INDEX actions_user_id_ticket_id_idx ON actions (user_id, ticket_id);
ALTER TABLE actions ENABLE ROW LEVEL SECURITY;
ALTER TABLE actions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON actions FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON actions FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY customer_scope ON actions AS RESTRICTIVE FOR ALL
    USING (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = actions.user_id AND t.id = actions.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid))
    WITH CHECK (NULLIF(current_setting('app.scope_customer_id', true), '') IS NULL
           OR EXISTS (SELECT 1 FROM tickets t
                       WHERE t.user_id = actions.user_id AND t.id = actions.ticket_id
                         AND t.customer_id = NULLIF(current_setting('app.scope_customer_id', true), '')::uuid));
-- No DELETE: an action is a record of what was proposed and decided; it goes with its ticket.
GRANT SELECT, INSERT, UPDATE ON actions TO support_agent_app;

-- The stripe_action job ---------------------------------------------------------------------------
-- stripe_action: an approved action (payload_id = actions.id, on its ticket) to carry out or to
-- finish after a crash or an unanswered request. Enqueued, due a few minutes later, in the
-- transaction that approves; the approval carries it out at once and removes the job when it
-- has an answer, so the worker runs it only when that did not happen.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('triage', 'deliver', 'stripe_event', 'stripe_action'));
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_references;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_references CHECK (
    CASE kind
        WHEN 'triage' THEN ticket_id IS NOT NULL AND payload_id IS NULL
        WHEN 'deliver' THEN ticket_id IS NOT NULL AND message_id IS NOT NULL AND payload_id IS NULL
        WHEN 'stripe_event' THEN ticket_id IS NULL AND message_id IS NULL AND payload_id IS NOT NULL
        WHEN 'stripe_action' THEN ticket_id IS NOT NULL AND message_id IS NULL
            AND payload_id IS NOT NULL
    END
);
