"""asyncssh's client login callbacks, made safe for event loops that start tasks eagerly (Textual's, on 3.12+).

Why this exists. asyncssh picks the next login method in `SSHClientConnection.try_next_auth()` with
`self._auth = lookup_client_auth(self, method)`. The handler's constructor (`asyncssh.auth.Auth.__init__`) starts
the method's `_start()` coroutine with `create_task`, and asyncssh counts on that task not running before the
constructor has returned and `_auth` points at the new handler. With `asyncio.eager_task_factory`, which Textual sets
on its loop where it exists (Python 3.12+), the task runs at once, inside the constructor, up to its first real
suspension. A method with nothing to offer decides without ever suspending: publickey with no key left (no key
files, no agent keys, or every key already refused) asks `public_key_auth_requested()`, gets None at once and calls
`try_next_auth(next_method=True)` from there. That nested call installs keyboard-interactive as `_auth` and sends its
request; then the outer call resumes and overwrites `_auth` with the spent publickey handler. The server's
keyboard-interactive prompt (USERAUTH_INFO_REQUEST, message 60) reaches the publickey handler, which reads message 60
as USERAUTH_PK_OK, finds the prompt's extra fields and fails with "Unexpected data at end of packet": every login
(direct or through a jump host) ended there, under the console and never under `asyncio.run`, which starts tasks lazily.

The fix: every callback those `_start()` coroutines wait on yields to the loop once before it answers, so each
method suspends before it can act; when it resumes, asyncssh has installed its handler, the same order as with lazy
tasks. The answers themselves are asyncssh's defaults: keys and passwords come from the connect options.
"""

from __future__ import annotations

import asyncio

import asyncssh


class LoginCallbacksClient(asyncssh.SSHClient):
    """An asyncssh client whose login callbacks suspend once before answering (see the module docstring)."""

    async def public_key_auth_requested(self) -> None:
        """No key beyond the connect options' ones: asyncssh then moves on to the next method."""
        await asyncio.sleep(0)  # yield: asyncssh must store this method's handler before it moves on
        return None

    async def kbdint_auth_requested(self) -> str | None:
        """NotImplemented: asyncssh answers a keyboard-interactive password prompt with the connect password."""
        await asyncio.sleep(0)  # yield: see public_key_auth_requested
        return NotImplemented  # asyncssh: "use the connect password for a password prompt"

    async def password_auth_requested(self) -> str | None:
        """No password beyond the connect option's one (already used when this is asked)."""
        await asyncio.sleep(0)  # yield: see public_key_auth_requested
        return None
