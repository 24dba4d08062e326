"""Prefect events warmline emits: a file received (the trigger), a submission's outcome, a day published."""

from __future__ import annotations

import time
from pathlib import Path

from prefect.events import Event, emit_event
from prefect.events.clients import get_events_client

RECEIVED = "warmline.submission.received"
# Emitted by users' automations or scripts to have the ingest-submission deployment take a file of the inbox;
# the service itself hands landed files straight to its writer.
INGEST_REQUESTED = "warmline.submission.ingest-requested"
DEFERRED = "warmline.submission.deferred"
DAY_PUBLISHED = "warmline.day.published"


def received_event(path: Path, home: Path) -> Event:
    """The event that triggers the ingest-submission deployment for one file in the inbox."""
    stat = path.stat()
    return Event(
        event=RECEIVED,
        resource={"prefect.resource.id": f"warmline.submission.{path.name}", "prefect.resource.name": path.name},
        payload={"path": str(path), "home": str(home), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                 "emitted_at": time.time()},
    )


async def announce(event: Event) -> None:
    """Send an event and raise if the server cannot be reached (emit_event would drop it silently)."""
    async with get_events_client(reconnection_attempts=2) as client:
        await client.emit(event)


def emit_outcome(summary: dict) -> None:
    """warmline.submission.<loaded|superseded|duplicate|rejected>, for automations (e-mail, webhook)."""
    resource = {"prefect.resource.id": f"warmline.submission.{summary['submission_id']}",
                "prefect.resource.name": summary["file_name"]}
    if summary.get("unit_code"):
        resource["warmline.unit_code"] = summary["unit_code"]
    if summary.get("as_of_date"):
        resource["warmline.as_of_date"] = summary["as_of_date"]
    emit_event(event=f"warmline.submission.{summary['status']}", resource=resource, payload=summary)


def emit_deferred(file_names: list[str], reason: str) -> None:
    """warmline.submission.deferred: files the writer could not ingest now; they stay in the inbox."""
    emit_event(event=DEFERRED, resource={"prefect.resource.id": "warmline.inbox"},
               payload={"files": file_names, "reason": reason})


def emit_day_published(day: str, payload: dict) -> None:
    """warmline.day.published, carrying the day's headline figures and unit counts."""
    emit_event(event=DAY_PUBLISHED, resource={"prefect.resource.id": f"warmline.day.{day}",
                                              "warmline.as_of_date": day}, payload=payload)
