"""Persistence: the engine, sessions and tables."""
