"""The schemathesis CLI (`st`), with one workaround for the Python it runs on.

On CPython 3.11.7, `ast.parse` can raise `SystemError: AST constructor recursion depth mismatch` (a CPython
bug, fixed in later 3.11 releases) when hypothesis parses a lambda's source to describe a recursive strategy (a
schema that takes any JSON value) for its repr. The description is cosmetic: it falls back to hypothesis' own
placeholder for a lambda it cannot read, instead of ending the run with an internal error.
"""

import inspect
import sys

from hypothesis.internal import lambda_sources
from schemathesis.cli import schemathesis

_describe = lambda_sources._lambda_description


def _description(f):
    try:
        return _describe(f)
    except SystemError:  # hypothesis' own placeholder for a lambda it cannot read
        parameters = str(inspect.signature(f))[1:-1]
        return f"lambda {parameters}: <unknown>" if parameters else "lambda: <unknown>"


lambda_sources._lambda_description = _description

if __name__ == "__main__":
    sys.exit(schemathesis())
