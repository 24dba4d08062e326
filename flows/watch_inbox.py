"""Watch the inbox and announce each file once it is completely written (inotify close-after-write or rename)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from watchdog.events import FileClosedEvent, FileMovedEvent, FileSystemEventHandler
from watchdog.observers import Observer

TEMPORARY_PREFIXES = (".", "~$")
TEMPORARY_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", ".swp")

if TYPE_CHECKING:  # Prefect's events: only the service that announces files imports them
    from prefect.events import Event

log = logging.getLogger("warmline.watch")


def is_temporary(path: Path) -> bool:
    """Editors' lock files and half-downloaded names: never a submission."""
    return path.name.startswith(TEMPORARY_PREFIXES) or path.name.lower().endswith(TEMPORARY_SUFFIXES)


class InboxHandler(FileSystemEventHandler):
    """Calls `on_file(path)` for a file closed after writing, or renamed into the inbox."""

    def __init__(self, inbox: Path, on_file: Callable[[Path], None]):
        self.inbox = inbox.resolve()
        self.on_file = on_file

    def _landed(self, raw: str | bytes) -> None:
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if path.parent.resolve() == self.inbox and not is_temporary(path) and path.is_file():
            self.on_file(path)

    def on_closed(self, event: FileClosedEvent) -> None:  # IN_CLOSE_WRITE: the writer has finished
        if not event.is_directory:
            self._landed(event.src_path)

    def on_moved(self, event: FileMovedEvent) -> None:  # written under a temporary name, then renamed
        if not event.is_directory:
            self._landed(event.dest_path)


def watch(inbox: Path, on_file: Callable[[Path], None]) -> Observer:
    """Start watching `inbox` in a background thread; stop with observer.stop()."""
    observer = Observer()
    observer.schedule(InboxHandler(inbox, on_file), str(inbox), recursive=False)
    observer.daemon = True
    observer.start()
    return observer


def announcer(loop: asyncio.AbstractEventLoop, announce: Callable[["Event"], "asyncio.Future"]
              ) -> Callable[[Path, "Event"], None]:
    """A thread-safe sender that runs the async `announce(event)` for a landed file on `loop` and logs a failure."""

    def send(path: Path, event: "Event") -> None:
        future = asyncio.run_coroutine_threadsafe(announce(event), loop)

        def done(f):
            if f.exception():
                log.warning("could not emit the received event for %s (%s); the file itself was handed to the writer", path.name,
                            f.exception())

        future.add_done_callback(done)

    return send
