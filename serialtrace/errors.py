"""Domain exceptions shared by every stage.

Every error a user can cause carries a message that names the field and the rule
broken; the CLI prints it as one line and exits non-zero.
"""

from __future__ import annotations


class SerialtraceError(Exception):
    """Base class of all errors the CLI reports as one line (exit code 2)."""


class ValidationError(SerialtraceError):
    """A value broke a rule. ``field`` names the value, ``rule`` the rule it broke."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class ConfigurationError(SerialtraceError):
    """A setting, file or folder the command needs is missing or unusable."""
