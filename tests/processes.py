"""Helpers for the processes tests start (workers, the Stripe stand-in, the embedded server)."""

from __future__ import annotations

import signal


def die_with_parent() -> None:
    """preexec_fn for helper processes: the kernel kills them when the test run dies, so an
    interrupted run leaves nothing behind (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
