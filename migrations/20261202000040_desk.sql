-- The desk's REST API (issue F2): internal notes, and drafts that a person edits, approves or
-- discards, with who did it and when (the outcome figures of the inbox read these).

-- A note is internal: never delivered, never triaged, shown to staff only.
ALTER TABLE messages DROP CONSTRAINT messages_sender_type_check;
ALTER TABLE messages ADD CONSTRAINT messages_sender_type_check
    CHECK (sender_type IN ('agent', 'customer', 'ai', 'note'));

-- Drafts: the model's own text is kept when a person edits it; each decision records the
-- credential that made it ("token:<jti>", "api_key:<id>", "operator") and when.
ALTER TABLE messages
    ADD COLUMN original_content text CHECK (char_length(original_content) BETWEEN 1 AND 20000),
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN edited_by text CHECK (char_length(edited_by) <= 100),
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN decided_by text CHECK (char_length(decided_by) <= 100),
    ADD CONSTRAINT messages_draft_fields_only_for_ai CHECK (
        sender_type = 'ai'
        OR (original_content IS NULL AND edited_at IS NULL AND decided_at IS NULL)
    );

-- Lists filtered by these, newest first.
CREATE INDEX tickets_user_id_needs_human_created_idx
    ON tickets (user_id, needs_human, created_at DESC, id DESC);
CREATE INDEX tickets_user_id_category_created_idx
    ON tickets (user_id, category, created_at DESC, id DESC);
CREATE INDEX tickets_user_id_customer_created_idx
    ON tickets (user_id, customer_id, created_at DESC, id DESC);
