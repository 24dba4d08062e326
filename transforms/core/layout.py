"""The folders of a warmline home."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

# The reference data shipped with warmline (Shaoguan), copied into a new home by `warmline init`.
SHIPPED_REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"


@dataclass(frozen=True)
class Layout:
    """Where everything lives under one WARMLINE_HOME."""

    home: Path

    @property
    def inbox(self) -> Path:
        return self.home / "data" / "raw" / "inbox"

    @property
    def archive(self) -> Path:
        return self.home / "data" / "raw" / "archive"

    @property
    def rejected(self) -> Path:
        return self.home / "data" / "raw" / "rejected"

    @property
    def reference(self) -> Path:
        return self.home / "data" / "reference"

    @property
    def warehouse(self) -> Path:
        return self.home / "data" / "warehouse" / "warmline.duckdb"

    @property
    def analytics(self) -> Path:
        """The read-only copy analysts open, republished after every load."""
        return self.home / "data" / "warehouse" / "analytics.duckdb"

    @property
    def parquet(self) -> Path:
        """The marts views as Parquet files, one per view, republished with the analytics copy."""
        return self.home / "data" / "warehouse" / "parquet"

    @property
    def bulletins(self) -> Path:
        return self.home / "data" / "bulletins"

    @property
    def logs(self) -> Path:
        return self.home / "data" / "logs"

    @property
    def prefect(self) -> Path:
        """The home's own Prefect server: its SQLite database, where it listens, its log."""
        return self.home / "data" / "prefect"

    @property
    def quality(self) -> Path:
        """Great Expectations' file-mode context (gx/): each submission's validation results and Data Docs."""
        return self.home / "data" / "quality"

    def folders(self) -> tuple[Path, ...]:
        return (self.inbox, self.archive, self.rejected, self.reference, self.warehouse.parent,
                self.bulletins, self.logs)

    def create(self) -> list[Path]:
        """Make the folders and copy the shipped reference data where missing; returns what was created."""
        created = [p for p in self.folders() if not p.exists()]
        for folder in self.folders():
            folder.mkdir(parents=True, exist_ok=True)
        for source in sorted(SHIPPED_REFERENCE.iterdir()):
            target = self.reference / source.name
            if source.is_file() and not target.exists():
                shutil.copyfile(source, target)
                created.append(target)
        return created
