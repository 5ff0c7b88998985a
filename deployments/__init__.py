"""Schedules and deployment definitions for the logcast flows."""
