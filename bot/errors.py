"""`OperatorError`: a command cannot do its job, told in one line the operator can act on."""

from __future__ import annotations


class OperatorError(Exception):
    """`str()` is one line: what is wrong and what to do. `python -m bot` prints it, exit 1."""
