"""Untrusted files parsed in a child process that may crash, hang or bloat alone."""
