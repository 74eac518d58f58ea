"""Suspect product alerts: cases, quarantine locks, investigations (F10)."""
