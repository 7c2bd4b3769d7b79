"""The one numba decorator of the package and the thread setting.

Every compiled function in `sim` uses :func:`jit`. ``cache=True`` keeps compiled
kernels on disk between runs; there is no ``fastmath`` anywhere, so results are
reproducible bit for bit. ``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python
for debugging and coverage.
"""

from __future__ import annotations

import os

import numba

__all__ = ["jit", "prange", "set_threads", "max_threads"]

prange = numba.prange


def jit(fn=None, *, parallel: bool = False, inline: bool = False):
    """Compile ``fn`` with the package's numba settings.

    Parameters
    ----------
    fn : callable, optional
        The function to compile. When omitted, returns a decorator.
    parallel : bool
        Compile with ``parallel=True`` so that ``prange`` loops run on threads.
    inline : bool
        Inline the function into its callers at numba's IR level (``inline="always"``). For
        the small scalar product rules called inside lane loops only: a function that takes
        arrays or a record of arrays must not be inlined into a loop, because numba then
        copies its reference counting of every array into each iteration.

    ``error_model="numpy"``: a division by zero gives inf/nan instead of raising, which
    lets LLVM vectorise lane loops (the kernels never divide by zero on a valid path).
    """

    def wrap(f):
        return numba.njit(
            f,
            cache=True,
            parallel=parallel,
            nogil=True,
            error_model="numpy",
            inline="always" if inline else "never",
        )

    return wrap if fn is None else wrap(fn)


def max_threads() -> int:
    """Number of threads numba may use on this machine."""
    return int(numba.config.NUMBA_NUM_THREADS)


def set_threads(threads: int) -> int:
    """Set the number of numba threads; 0 means all. Returns the number in force."""
    n = max_threads() if threads <= 0 else min(int(threads), max_threads())
    if os.environ.get("NUMBA_DISABLE_JIT", "0") != "1":
        numba.set_num_threads(n)
    return n
