"""Great Expectations suites, one JSON file per kind of check; see README.md in this folder."""

from pathlib import Path

SUITES_DIR = Path(__file__).parent
