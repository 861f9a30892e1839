"""Files that edgeops writes whole: replaced atomically and readable only by their owner.

Every file edgeops rewrites (command history, host keys, the parse cache, the lab's inventory and keys, a run's
summary) can hold something private and can be read while it is written, by a second console or a script. One way
of writing them keeps both promises: the new text goes to a temporary file created 0600 in the same folder, and
`os.replace` swaps it in, so a reader sees the old file or the new one, never half of one, and no other user ever
sees either.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: str | bytes, *, durable: bool = False) -> Path:
    """Replace `path` with `data` atomically, mode 0600 (str is written as UTF-8).

    `durable` fsyncs the new file before the swap, for files whose loss after a crash would cost the user
    something (history, trusted host keys); caches and lab files skip it. OSError propagates.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:  # mkstemp creates the file 0600
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path
