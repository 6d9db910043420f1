"""Progress of a batch run: tqdm bars on a terminal, nothing under cron.

On a terminal (stderr is a TTY) the run shows one bar for its stages and,
during the slowest stage, one bar per site pack with its rate and the time
left (ETA). While a bar is shown, log records are written through
:func:`tqdm.tqdm.write` (:func:`tqdm.contrib.logging.logging_redirect_tqdm`),
so a log line never shares a line with a bar. Off a terminal (cron, CI, a
pipe) or with ``ccdata --quiet`` no bar is drawn at all: the log carries
everything, with timestamps (see :mod:`ccdata.cli`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

__all__ = ["Progress"]


class Progress:
    """Stage and per-pack progress bars, shown only on a terminal.

    Parameters
    ----------
    total : int
        Number of stages.
    enabled : bool, optional
        Force the bars on or off; default: on when ``stream`` is a terminal
        and the ``ccdata`` logger shows INFO messages (not ``--quiet``).
    stream : file, optional
        Where to draw (default ``sys.stderr``).

    Examples
    --------
    >>> import io
    >>> bar = Progress(3, stream=io.StringIO())
    >>> bar.enabled
    False
    >>> bar.step("read"); bar.pack("P01", 1, 2); bar.close()
    """

    def __init__(self, total: int, enabled: bool | None = None, stream: Any = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            tty = bool(getattr(self.stream, "isatty", lambda: False)())
            quiet = logging.getLogger("ccdata").getEffectiveLevel() > logging.INFO
            enabled = tty and not quiet
        self.enabled = enabled
        self.total = max(total, 1)
        self.done = 0
        self._bar: Any = None
        self._packs: Any = None
        self._redirect: Any = None
        if self.enabled:
            from tqdm.auto import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._redirect = contextlib.ExitStack()
            self._redirect.enter_context(
                logging_redirect_tqdm(
                    loggers=[logging.root, logging.getLogger("ccdata")]
                )
            )
            self._bar = tqdm(
                total=self.total,
                desc="ccdata",
                unit="stage",
                file=self.stream,
                position=0,
                leave=False,
                dynamic_ncols=True,
            )

    def step(self, label: str) -> None:
        """Advance by one stage."""
        self.done = min(self.done + 1, self.total)
        if self._bar is not None:
            self._bar.set_postfix_str(label[:40], refresh=False)
            self._bar.update(1)

    def pack(self, site: str, done: int, total: int) -> None:
        """One site pack finished (``done`` of ``total``): the per-pack bar."""
        if not self.enabled:
            return
        if self._packs is None:
            from tqdm.auto import tqdm

            self._packs = tqdm(
                total=total,
                desc="site packs",
                unit="pack",
                file=self.stream,
                position=1,
                leave=False,
                dynamic_ncols=True,
            )
        self._packs.set_postfix_str(str(site)[:20], refresh=False)
        self._packs.update(max(0, done - self._packs.n))
        if done >= total:
            self._packs.close()
            self._packs = None

    def close(self) -> None:
        """Remove the bars and restore the log handlers."""
        for bar in (self._packs, self._bar):
            if bar is not None:
                bar.close()
        self._packs = self._bar = None
        if self._redirect is not None:
            self._redirect.close()
            self._redirect = None
