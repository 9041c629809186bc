"""Keep what a loaded process holds shared with the processes forked from it (gunicorn workers, RQ work horses).

After a fork the children share the loaded process's pages until one of them writes to a page. Python's cyclic
garbage collector writes to every object it examines: a full collection in a child walks the ~650,000 objects the
catalogue, the graph's attribute tables and the circuits are made of, and so copies every page that holds one.
Measured on the whole basin (``python -m bench.run throughput``, "Worker start and memory"): one full collection in
a forked child makes about 110 MB of shared pages private and stops its threads for about half a second.
``gc.freeze`` (Python's documented remedy for pre-forking servers) moves the objects alive at that moment into a
permanent generation that collections never examine.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_before_fork"]


def freeze_before_fork() -> int:
    """Collect the garbage of loading, then exempt every object still alive from later collections, here and in
    every process forked from here. Call it once the process has loaded everything, right before it forks.
    Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
