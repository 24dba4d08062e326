"""Orchestration: Prefect flows and tasks, the service, and the command line."""
