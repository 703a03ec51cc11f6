"""Who may read what: the caller's reading rights, carried into every search."""

from rag.access.rights import OPERATOR, PUBLIC, Access, parse_groups

__all__ = ["OPERATOR", "PUBLIC", "Access", "parse_groups"]
