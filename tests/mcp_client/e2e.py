"""End-to-end check of support-agent's MCP server with the independent Python SDK (mcp==2.3.0).

Run by tests/it/mcp_e2e.rs, which makes the database, a tenant with a customer and a ticket, and a
token. For one transport (stdio or http) and one mode (auto = 2026-07-28, legacy = 2025-11-25):
list tools (names, schemas, annotations), call each tool, read a resource, get the prompt.

Usage: e2e.py --transport stdio|http --mode auto|legacy --ticket ID --customer ID
              [--url URL] [--binary PATH]
The token comes from SUPPORT_AGENT_TOKEN. Prints one line "e2e ok: ..." on success; any failed
check raises, so the exit status is non-zero.
"""

import argparse
import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

# readOnlyHint, destructiveHint, idempotentHint, openWorldHint
EXPECTED = {
    "lookup_customer": (True, False, True, False),
    "list_tickets": (True, False, True, False),
    "get_ticket": (True, False, True, False),
    "draft_reply": (False, False, False, False),
    "update_ticket": (False, True, True, False),
    "search_knowledge": (True, False, True, False),
    "fetch_stripe_charges": (True, False, True, True),
    "customer_overview": (True, False, True, True),
    "list_subscriptions": (True, False, True, True),
    "list_invoices": (True, False, True, True),
    "propose_refund": (False, False, True, True),
    "propose_subscription_cancel": (False, False, True, True),
}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def text_of(result):
    return "".join(getattr(c, "text", "") for c in result.content)


async def run(client, args):
    version = client.protocol_version
    want = "2026-07-28" if args.mode == "auto" else "2025-11-25"
    check(version == want, f"negotiated {version}, expected {want}")

    tools = (await client.list_tools()).tools
    names = [t.name for t in tools]
    check(names == list(EXPECTED), f"tools/list order: {names}")
    for tool in tools:
        a = tool.annotations
        got = (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint)
        check(got == EXPECTED[tool.name], f"{tool.name} annotations {got}")
        check(tool.input_schema.get("type") == "object", f"{tool.name} input schema")
        out = tool.output_schema or {}
        check(out.get("type") == "object", f"{tool.name} output schema")
        props = tool.input_schema.get("properties", {})
        check(not any("user" in p or "tenant" in p for p in props), f"{tool.name} names a tenant")
    props = {t.name: set(t.input_schema.get("properties", {})) for t in tools}
    check(props["list_tickets"] == {"status", "priority", "customer_id", "needs_human", "category", "limit", "cursor"}, "list_tickets args")
    check(props["lookup_customer"] == {"email", "customer_id", "query"}, "lookup_customer args")
    check(props["get_ticket"] == {"ticket_id", "messages_cursor"}, "get_ticket args")
    check(props["draft_reply"] == {"ticket_id", "content"}, "draft_reply args")
    check(props["update_ticket"] == {"ticket_id", "status", "priority"}, "update_ticket args")

    r = await client.call_tool("lookup_customer", {"customer_id": args.customer})
    check(not r.is_error, f"lookup_customer: {text_of(r)}")
    customers = r.structured_content["customers"]
    check(len(customers) == 1 and customers[0]["open_tickets"] == 1, f"lookup_customer: {customers}")
    check(json.loads(text_of(r)) == r.structured_content, "text copy equals structuredContent")

    r = await client.call_tool("list_tickets", {"status": "open", "limit": 5})
    check(not r.is_error, f"list_tickets: {text_of(r)}")
    check([t["id"] for t in r.structured_content["tickets"]] == [args.ticket], "list_tickets ids")

    content = f"Hello from {args.transport}/{args.mode}"
    r = await client.call_tool("draft_reply", {"ticket_id": args.ticket, "content": content})
    check(not r.is_error, f"draft_reply: {text_of(r)}")
    check(r.structured_content["draft"]["draft_state"] == "draft", "draft_reply stores a draft")

    r = await client.call_tool("get_ticket", {"ticket_id": args.ticket})
    check(not r.is_error, f"get_ticket: {text_of(r)}")
    drafts = [m for m in r.structured_content["messages"] if m["sender"] == "ai"]
    check(drafts and all(m["draft_state"] == "draft" for m in drafts), "ai drafts carry their state")

    r = await client.call_tool("update_ticket", {"ticket_id": args.ticket, "priority": "high"})
    check(not r.is_error and r.structured_content["ticket"]["priority"] == "high", "update_ticket")

    r = await client.call_tool("get_ticket", {"ticket_id": "00000000-0000-0000-0000-000000000000"})
    check(r.is_error and "not found" in text_of(r), f"unknown ticket: {text_of(r)}")
    r = await client.call_tool("list_tickets", {"limit": 500})
    check(r.is_error and "limit" in text_of(r), f"bad limit: {text_of(r)}")
    r = await client.call_tool("search_knowledge", {"query": "how long do refunds take", "limit": 3})
    check(not r.is_error and r.structured_content["results"] == [], f"search_knowledge: {text_of(r)}")
    r = await client.call_tool("search_knowledge", {"query": "refunds", "limit": 50})
    check(r.is_error and "limit" in text_of(r), f"search_knowledge limit: {text_of(r)}")
    # The test's customer has no Stripe id: an isError result that says what to do.
    for tool in ("fetch_stripe_charges", "customer_overview"):
        r = await client.call_tool(tool, {"customer_id": args.customer})
        check(r.is_error and "stripe link" in text_of(r), f"{tool} unlinked: {text_of(r)}")

    templates = (await client.list_resource_templates()).resource_templates
    check({t.uri_template for t in templates} == {"ticket://{id}", "customer://{id}"}, "templates")
    contents = (await client.read_resource(f"ticket://{args.ticket}")).contents
    check(contents and contents[0].text.startswith("# "), "ticket:// is Markdown")
    contents = (await client.read_resource(f"customer://{args.customer}")).contents
    check(args.ticket in contents[0].text, "customer:// lists the ticket")

    prompts = (await client.list_prompts()).prompts
    check([p.name for p in prompts] == ["draft_reply"], "prompts/list")
    prompt = await client.get_prompt("draft_reply", {"ticket_id": args.ticket})
    body = prompt.messages[0].content.text
    check("<ticket_data>" in body and "</ticket_data>" in body and args.ticket in body, "prompt frames the data")
    return version


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--transport", choices=["stdio", "http"], required=True)
    p.add_argument("--mode", choices=["auto", "legacy"], required=True)
    p.add_argument("--ticket", required=True)
    p.add_argument("--customer", required=True)
    p.add_argument("--url")
    p.add_argument("--binary")
    args = p.parse_args()
    token = os.environ["SUPPORT_AGENT_TOKEN"]
    if args.transport == "stdio":
        server = StdioServerParameters(command=args.binary, args=["serve", "--stdio"], env=dict(os.environ))
    else:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        server = streamable_http_client(args.url, http_client=http)
    async with Client(server, mode=args.mode) as client:
        version = await run(client, args)
    print(f"e2e ok: {args.transport} {args.mode} protocol {version}")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # one readable line for the Rust test's assertion message
        print(f"e2e failed: {type(e).__name__}: {e!r}", file=sys.stderr)
        raise
