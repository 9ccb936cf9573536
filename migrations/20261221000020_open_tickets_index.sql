-- Tickets: a customer's open tickets, counted from the index alone --------------------------------
-- `lookup_customer` (customers::store::find_summary) returns each customer with its number of open
-- or pending tickets. Through tickets_user_id_customer_created_idx that count fetched every one of
-- the customer's tickets from the heap to read its status: 20 heap pages for a customer with 20
-- tickets, each a read from outside shared_buffers once the tickets of many tenants no longer fit
-- there (BENCHMARKS-mcp.md, 2026-12-08). This partial index holds exactly the rows the count wants,
-- so it is an index-only scan of a page or two. It is small (the open and pending tickets only)
-- and leads with user_id like every index of a tenant table.
CREATE INDEX tickets_user_id_customer_open_idx ON tickets (user_id, customer_id)
    WHERE status IN ('open', 'pending');
