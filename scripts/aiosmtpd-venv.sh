#!/usr/bin/env bash
# aiosmtpd (an SMTP server in Python), pinned, in .venv-aiosmtpd, for the email channel's tests
# (tests/smtp_sink/sink.py). Prints the venv's `python` path.
exec bash "$(dirname "$0")/py-venv.sh" .venv-aiosmtpd aiosmtpd 1.4.6 python
