"""Process set-up shared by the command line and the served flows: home folder, Prefect settings, logging."""

from __future__ import annotations

import os
from pathlib import Path

from transforms.core.layout import Layout

LOGGING_CONFIG = Path(__file__).with_name("logging.yml")


def home() -> Path:
    """WARMLINE_HOME, default: the current directory."""
    return Path(os.environ.get("WARMLINE_HOME") or os.getcwd()).resolve()


def configure_prefect(layout: Layout) -> Path:
    """Send Prefect's log lines to data/logs/warmline.log and quiet its server; call before importing prefect."""
    layout.logs.mkdir(parents=True, exist_ok=True)
    log_file = layout.logs / "warmline.log"
    os.environ.setdefault("PREFECT_LOGGING_SETTINGS_PATH", str(LOGGING_CONFIG))
    os.environ["PREFECT_LOGGING_HANDLERS_FILE_FILENAME"] = str(log_file)
    # A small machine needs longer than Prefect's default to start its temporary server.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE", "100")
    # A background task's parameters and result are files in this folder: the command that hands work to the
    # writer and the writer must share it whatever PREFECT_HOME each was started with.
    os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(layout.prefect / "storage"))
    return log_file


def task_runner():
    """The task runner the flows use: Prefect's default (threads in the flow's process), or with
    WARMLINE_TASK_RUNNER=dask a DaskTaskRunner that reads and validates files on Dask workers, either on the
    cluster at WARMLINE_DASK_ADDRESS (tcp://host:8786) or on a LocalCluster of WARMLINE_DASK_WORKERS processes
    (default 2) started for the run. Writing stays in the flow's process: one writer per warehouse."""
    kind = os.environ.get("WARMLINE_TASK_RUNNER", "").strip().lower()
    if kind in ("", "default", "threads"):
        return None
    if kind != "dask":
        raise ValueError(f"WARMLINE_TASK_RUNNER={kind!r} is not a task runner warmline knows; use 'dask' or unset it")
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ValueError("WARMLINE_TASK_RUNNER=dask needs prefect-dask: pip install 'warmline[dask]'") from None
    address = os.environ.get("WARMLINE_DASK_ADDRESS")
    if address:
        return DaskTaskRunner(address=address)
    workers = int(os.environ.get("WARMLINE_DASK_WORKERS", "2"))
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})
