"""Hand freed memory back to the OS between the big phases of a step.

A step's phases use different allocators: pandas and numpy allocate through glibc's malloc,
Arrow through its own pool (mimalloc) and delta-rs through Rust's. Memory that glibc frees
stays in its heap (holes between live arrays: a 25-season player frame stacked from ~60
pieces left ~190 MB of them) where only later glibc allocations can reuse it, so a phase that
allocates through Arrow or Rust adds to the peak on top of it. `malloc_trim` returns those
free pages to the OS; it moves nothing and costs milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import pyarrow as pa


@functools.cache
def _malloc_trim():
    """glibc's `malloc_trim`, or None where the C library has none (macOS, musl)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Return the pages glibc and Arrow's pool hold free (no-op where they cannot)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    pa.default_memory_pool().release_unused()
