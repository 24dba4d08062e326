"""A campaign day: its checks, status, the publishing gate, the roll-up cache and the release log."""
