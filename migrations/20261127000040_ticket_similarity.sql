-- What the offline classifier needs: a ticket's embedding, and whether its category came from a
-- person (the labelled examples k-nearest-neighbour classification learns from) or from a model.

ALTER TABLE tickets
    ADD COLUMN category_source text CHECK (category_source IN ('human', 'model')),
    ADD COLUMN embedding       vector(384),
    ADD COLUMN embed_model     text CHECK (char_length(embed_model) BETWEEN 1 AND 200),
    ADD CONSTRAINT tickets_embedding_has_model CHECK ((embedding IS NULL) = (embed_model IS NULL)),
    ADD CONSTRAINT tickets_category_has_source CHECK (category IS NULL OR category_source IS NOT NULL);

UPDATE tickets SET category_source = 'model' WHERE category IS NOT NULL;

-- Nearest labelled tickets of one tenant: HNSW with the cosine operator class the query uses,
-- searched with pgvector's iterative scans so that the user_id filter still yields k rows.
CREATE INDEX tickets_embedding_idx ON tickets USING hnsw (embedding vector_cosine_ops)
    WHERE category_source = 'human';
