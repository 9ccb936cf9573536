"""A loopback SMTP server for the email channel's tests (aiosmtpd, see scripts/aiosmtpd-venv.sh).

Usage: sink.py PORT DIR USERNAME PASSWORD

Accepts AUTH PLAIN/LOGIN for USERNAME/PASSWORD only (without TLS: loopback), and writes each
message it accepts to DIR/<n>.eml (written whole, then renamed). DIR/mode, read on every
message, changes how it answers: `ok` (default), `tempfail` (451 to RCPT), `reject` (550 to
RCPT), `stall` (the message is kept, then the answer to DATA never comes: a worker killed while
sending). Prints `ready` on stdout when it listens.
"""

import asyncio
import itertools
import os
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PORT, OUT, USERNAME, PASSWORD = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
COUNTER = itertools.count(1)


def mode():
    try:
        with open(os.path.join(OUT, "mode")) as f:
            return f.read().strip()
    except FileNotFoundError:
        return "ok"


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        m = mode()
        if m == "tempfail":
            return "451 4.3.0 try again later"
        if m == "reject":
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(COUNTER)
        path = os.path.join(OUT, f"{n:04}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(f"X-Envelope-From: {envelope.mail_from}\r\n".encode())
            f.write(f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode())
            f.write(f"X-Authenticated: {session.authenticated}\r\n".encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        if mode() == "stall":
            await asyncio.sleep(3600)
        return "250 2.0.0 accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    if (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == USERNAME
        and auth_data.password.decode() == PASSWORD
    ):
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=PORT,
    authenticator=authenticator,
    auth_require_tls=False,
    auth_required=True,
)
controller.start()
print("ready", flush=True)
threading.Event().wait()
