"""Great Expectations suites, one JSON file per kind of check; each rule says why in its meta (why, and the
message a clerk reads in Chinese and English)."""

from pathlib import Path

SUITES_DIR = Path(__file__).parent
