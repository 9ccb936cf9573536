-- Knowledge base: a tenant's documents and their chunks, searched by meaning and by words.
--
-- Same shape as the foundation (see 20261127000001_foundation.sql): user_id leads every key,
-- chunks reference their document through (user_id, document_id), row-level security ENABLED and
-- FORCED with the one tenant_isolation policy, and the owner's read-only operator_read policy.
--
-- Each chunk records the embedding model and dimension that embedded it: a search only compares
-- vectors of the configured model, and `support-agent knowledge reembed` moves a tenant to a new
-- one. Vectors are vector(384), the built-in model's size (OpenAI-compatible providers are asked
-- for 384 dimensions), so that a single HNSW index serves every model.

-- Documents ----------------------------------------------------------------------------------------
CREATE TABLE documents (
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id             uuid NOT NULL,
    -- Where the document came from: the canonical path of the ingested file.
    source         text NOT NULL CHECK (char_length(source) BETWEEN 1 AND 4096),
    title          text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    kind           text NOT NULL CHECK (kind IN ('markdown', 'text', 'html', 'pdf')),
    -- sha256 of the file's bytes: an unchanged file is skipped on re-ingestion.
    content_sha256 bytea NOT NULL CHECK (octet_length(content_sha256) = 32),
    chunk_count    integer NOT NULL CHECK (chunk_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT documents_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT documents_user_id_source_key UNIQUE (user_id, source)
);
CREATE TRIGGER documents_set_updated_at BEFORE UPDATE ON documents
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Chunks of a document -----------------------------------------------------------------------------
CREATE TABLE chunks (
    user_id      uuid NOT NULL,
    id           uuid NOT NULL,
    document_id  uuid NOT NULL,
    ordinal      integer NOT NULL CHECK (ordinal >= 0),
    -- The headings above the chunk, outermost first.
    heading_path text[] NOT NULL DEFAULT '{}',
    text         text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 20000),
    -- Title, headings (weight A) and text (weight B), computed by the store at insert.
    tsv          tsvector NOT NULL,
    embed_model  text NOT NULL CHECK (char_length(embed_model) BETWEEN 1 AND 200),
    embed_dims   integer NOT NULL CHECK (embed_dims = 384),
    embedding    vector(384) NOT NULL,
    CONSTRAINT chunks_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT chunks_user_id_document_id_ordinal_key UNIQUE (user_id, document_id, ordinal),
    CONSTRAINT chunks_user_id_document_id_fkey FOREIGN KEY (user_id, document_id)
        REFERENCES documents (user_id, id) ON DELETE CASCADE
);
-- The exact path (small tenants, SECURITY.md R8) and the model filter of every search.
CREATE INDEX chunks_user_id_embed_model_idx ON chunks (user_id, embed_model);
-- Full text: GIN over the tsvector the queries match with @@.
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);
-- Approximate nearest neighbours by cosine distance (<=>), the operator the search uses; the
-- tenant and model filters are applied during the scan (pgvector 0.8 iterative scans).
CREATE INDEX chunks_embedding_hnsw_idx ON chunks USING hnsw (embedding vector_cosine_ops);

-- Row-level security -------------------------------------------------------------------------------
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON documents FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON documents FOR SELECT TO CURRENT_USER USING (true);

ALTER TABLE chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chunks FOR ALL
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY operator_read ON chunks FOR SELECT TO CURRENT_USER USING (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON documents, chunks TO support_agent_app;
