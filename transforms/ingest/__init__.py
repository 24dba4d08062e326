"""A landed file's way in: received, read, validated and recorded with its outcome, or refused with a report."""
