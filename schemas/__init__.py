"""Pandera models: the single source of every table's column names, types and rules."""
