"""Child processes that end with the process that started them, however it ended.

Why: the runtime's helper processes (the journal's graph writer, cognition's sampler) hold
hundreds of MB and the multiprocessing resource tracker's pipe. A parent that dies by
``kill -9``, or a server stopped while a batch runs, would otherwise leave them running for as
long as they linger, with nobody to take a result or shut them down. The kernel's
``PR_SET_PDEATHSIG`` cannot do this here: it fires when the *thread* that started the child
ends, and a pool starts its worker from whichever thread first submits, which may end first.
"""

from __future__ import annotations

import os
import threading

ORPHAN_CHECK_S = 0.5
"""How often a child checks that the process that started it is still there."""


def die_with(parent: int) -> None:
    """End this process as soon as ``parent`` is gone (a pool ``initializer``).

    A watchdog thread polls ``os.getppid()``: when the parent dies the child is re-parented (to
    init or a subreaper) and the number changes. The temporal lock allows the wall clock here:
    this is process supervision, not agent time.
    """

    def watch() -> None:
        pause = threading.Event()
        while os.getppid() == parent:
            pause.wait(ORPHAN_CHECK_S)
        os._exit(1)  # the parent is gone: nobody is left to take a result or shut us down

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="emily-orphan-watch", daemon=True).start()
