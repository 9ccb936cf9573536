"""The Python SDK peer of `support-agent serve --http` for scripts/bench-mcp-wrk.sh: the official
MCP SDK (mcp==2.3.0, stateless Streamable HTTP, JSON responses) serving `lookup_customer` by email
over the same database, as the same role, with the same SQL as the Rust server's path: the bearer
token verified (HS256, iss, aud, exp, sub, jti, as src/auth does), then one tenant transaction
(`BEGIN; SET LOCAL app.current_user_id = '<uuid>'`, the revocation check, the customer by email
with its open-ticket count in one statement, `COMMIT`). It does not write an audit row (the Rust
server does, batched): the peer does less work per call than the server it is compared with. Not a
test; a benchmark's peer. Needs DATABASE_URL, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE
(scripts/bench-mcp-wrk.sh sets them).

    .venv-mcp-peer/bin/python examples/mcp_peer.py --port 18082
"""

import argparse
import os
import uuid
from typing import Any

import asyncpg
import jwt
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

# The same statements as src/accounts/revocations.rs::check (one for a token without a session,
# one for a token with one) and src/customers/store.rs::find_summary (the customer with its
# open-ticket count).
REVOCATION_CHECK = (
    "SELECT u.tokens_valid_after, "
    "EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.user_id = $1 AND r.jti = $2), "
    "true "
    "FROM users u WHERE u.id = $1"
)
REVOCATION_CHECK_IN_SESSION = (
    "SELECT u.tokens_valid_after, "
    "EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.user_id = $1 AND r.jti = $2), "
    "EXISTS (SELECT 1 FROM sessions s "
    "WHERE s.user_id = $1 AND s.id = $3 AND s.revoked_at IS NULL AND s.expires_at > now()) "
    "FROM users u WHERE u.id = $1"
)
FIND_SUMMARY_BY_EMAIL = (
    "SELECT c.*, (SELECT count(*) FROM tickets t "
    "WHERE t.user_id = $1 AND t.customer_id = c.id "
    "AND t.status IN ('open', 'pending')) AS open_tickets "
    "FROM customers c WHERE c.user_id = $1 AND c.email = $2"
)

SECRET = os.environ["JWT_SECRET"]
ISSUER = os.environ.get("JWT_ISSUER", "support-agent")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "support-agent")
pool: asyncpg.Pool | None = None

server = MCPServer("support-agent-peer")


class Refused(Exception):
    pass


def verify(headers: Any) -> dict[str, Any]:
    auth = (headers or {}).get("authorization", "")
    if not auth.startswith("Bearer "):
        raise Refused("a Bearer token is required")
    claims = jwt.decode(
        auth[len("Bearer ") :],
        SECRET,
        algorithms=["HS256"],
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway=30,
        options={"require": ["exp", "iss", "aud", "sub"]},
    )
    uuid.UUID(claims["jti"])
    return claims


@server.tool(
    annotations=ToolAnnotations(
        readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
    )
)
async def lookup_customer(ctx: Context, email: str) -> dict[str, Any]:
    """Find the tenant's customer by exact email address, with its number of open tickets."""
    claims = verify(ctx.headers)
    user_id = uuid.UUID(claims["sub"])
    jti = uuid.UUID(claims["jti"])
    sid = uuid.UUID(claims["sid"]) if claims.get("sid") else None
    assert pool is not None
    async with pool.acquire() as conn:
        # One round trip, as the Rust server's Db::begin: the literal is a typed UUID's text.
        await conn.execute(f"BEGIN; SET LOCAL app.current_user_id = '{user_id}'")
        try:
            if sid is None:
                row = await conn.fetchrow(REVOCATION_CHECK, user_id, jti)
            else:
                row = await conn.fetchrow(REVOCATION_CHECK_IN_SESSION, user_id, jti, sid)
            if row is None or row[1] or not row[2]:
                raise Refused("the token has been revoked")
            customer = await conn.fetchrow(FIND_SUMMARY_BY_EMAIL, user_id, email.strip().lower())
            customers = []
            if customer is not None:
                customers.append(
                    {
                        "id": str(customer["id"]),
                        "name": customer["name"],
                        "email": customer["email"],
                        "phone": customer["phone"],
                        "stripe_customer_id": customer["stripe_customer_id"],
                        "open_tickets": customer["open_tickets"],
                    }
                )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
    return {"customers": customers}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18082)
    parser.add_argument("--pool", type=int, default=16)
    args = parser.parse_args()
    app = server.streamable_http_app(stateless_http=True, json_response=True, host=args.host)
    inner_lifespan = app.router.lifespan_context

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(a: Any):  # the pool lives as long as the server
        global pool
        pool = await asyncpg.create_pool(
            os.environ["DATABASE_URL"], min_size=args.pool, max_size=args.pool
        )
        async with inner_lifespan(a) as state:
            yield state
        await pool.close()

    app.router.lifespan_context = lifespan
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
