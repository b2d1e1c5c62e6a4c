"""The one error hierarchy of loopml.

Every message says what failed, on which object, with which value, and how to fix it.
The HTTP layer maps this tree to status codes in one place; nothing below it knows HTTP.

    LoopmlError
     ├── NotFoundError          an id or name that does not exist            (404)
     ├── ConflictError          a write that contradicts stored state        (409)
     │    └── ParamConflictError   a param re-logged with a different value
     ├── ValidationError        bad input: a field, its value and the fix    (400/422)
     │    └── FilterSyntaxError    a search filter that does not parse
     └── StoreError             the store could not be read or written       (500/503)
          └── StoreLockedError     the store stayed locked past every retry
"""

from __future__ import annotations


class LoopmlError(Exception):
    """Base of every error loopml raises on purpose."""


class NotFoundError(LoopmlError):
    """An experiment, run or other object with the given id or name does not exist."""


class ConflictError(LoopmlError):
    """A write contradicts what is already stored (duplicate name, wrong lifecycle state)."""


class ParamConflictError(ConflictError):
    """A param was logged again with a different value; params are write-once."""


class ValidationError(LoopmlError, ValueError):
    """Input was malformed; the message names the field, the value and the fix."""


class FilterSyntaxError(ValidationError):
    """A search filter or order-by clause could not be parsed.

    ``position`` is the 0-based character offset of the offending token.
    """

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.text = text
        self.position = position
        if text and position is not None:
            message = f"{message}\n  {text}\n  {' ' * position}^"
        super().__init__(message)


class StoreError(LoopmlError):
    """The metadata or artifact store failed; the original error is chained."""


class StoreLockedError(StoreError):
    """The SQLite store stayed locked by other writers after every retry."""
