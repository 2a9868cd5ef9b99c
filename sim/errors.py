"""Errors a user can act on.

Every problem with user input becomes one :class:`InputError`, whose text is the single line the command
line prints: ``FILE: field.path: reason``. The CLI exits with code 2 on it and never shows a traceback.
"""
from __future__ import annotations

EXIT_INPUT = 2


class InputError(Exception):
    """Bad input: a file, the field in it (dotted path, may be empty) and what is wrong."""

    def __init__(self, file: str, field: str, reason: str):
        self.file = str(file)
        self.field = field
        self.reason = " ".join(str(reason).split())  # one line, always
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.field:
            parts.append(self.field)
        parts.append(self.reason)
        return ": ".join(parts)
