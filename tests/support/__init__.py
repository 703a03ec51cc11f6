"""Helpers the tests share (one copy each): the in-process command line, stores, waiting."""
