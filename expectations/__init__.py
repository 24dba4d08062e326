"""Great Expectations suites, one JSON file per kind of check; each rule's meta says why it exists and names its
problem code, whose message (what a clerk reads, in Chinese and English) is in transforms/core/problems.toml."""

from pathlib import Path

SUITES_DIR = Path(__file__).parent
