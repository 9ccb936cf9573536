#!/usr/bin/env bash
# The independent MCP client the end-to-end tests drive: the Python SDK, pinned, in .venv. Prints
# the interpreter's path on stdout.
exec bash "$(dirname "$0")/py-venv.sh" .venv mcp 2.3.0 python
