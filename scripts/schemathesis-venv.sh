#!/usr/bin/env bash
# Schemathesis (API testing from the OpenAPI contract), pinned, in .venv-schemathesis (apart from
# .venv, whose MCP SDK pins its own dependencies). Prints the `schemathesis` path.
exec bash "$(dirname "$0")/py-venv.sh" .venv-schemathesis schemathesis 4.32.5 schemathesis
