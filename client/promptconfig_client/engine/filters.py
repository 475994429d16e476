"""Filters and tests templates may use: the seed service's custom filters plus an allowlist of Jinja2 builtins.

Every filter the environment exposes is wrapped (`guarded`): it charges the render's budget, checks the deadline,
converts text arguments through `Guard.text` (so only data is ever printed) and checks the size of what it returns.
The wrappers are `pass_context` on purpose: Jinja2 never constant-folds such filters at compile time, so a filter
like `'a'|center(10**8)` runs (and is refused) at render time under the guard, not inside `from_string`.
Filters that can amplify their input (center, indent, wordwrap, replace, join, batch, slice, tojson) are
reimplemented or pre-checked so that the size check happens before the large value is built.
"""

import textwrap
from collections.abc import Callable, Iterable, Mapping
from time import monotonic
from typing import Any

from jinja2 import filters as jf
from jinja2 import pass_context
from jinja2 import tests as jt
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context
from jinja2.utils import _PassArg

from .errors import TemplateError
from .guards import CURRENT, Guard, current, strip_chars, unbounded

# -- the seed service's filters (plain functions, exported as FILTERS) --------------------------------------------

DIFFICULTY_TEXTS = {
    "beginner": "introductory level suitable for newcomers",
    "intermediate": "intermediate level for those with basic knowledge",
    "advanced": "advanced level for experienced learners",
}

LEARNING_STYLE_TEXTS = {
    "visual": "visual learners who benefit from diagrams, charts, and visual examples",
    "auditory": "auditory learners who prefer spoken explanations and discussions",
    "kinesthetic": "kinesthetic learners who learn through hands-on activities and practical examples",
    "reading": "reading/writing learners who prefer text-based explanations and written materials",
}

EXAMPLE_TEXTS = {
    "practical": "\n\nInclude practical, real-world examples that demonstrate the concepts in action.",
    "theoretical": "\n\nFocus on theoretical foundations and mathematical derivations.",
}
BALANCED_EXAMPLES_TEXT = "\n\nProvide a balanced mix of theoretical concepts and practical examples."


def format_difficulty(value: Any) -> Any:
    """The description of a difficulty level; unknown values pass through unchanged."""
    return DIFFICULTY_TEXTS.get(value, value) if isinstance(value, str) else value


def format_learning_style(value: Any) -> Any:
    """The description of a learning style; unknown values pass through unchanged."""
    return LEARNING_STYLE_TEXTS.get(value, value) if isinstance(value, str) else value


def add_examples(content: str, preference: Any) -> str:
    """`content` followed by an instruction about examples that suits `preference`."""
    return content + EXAMPLE_TEXTS.get(preference, BALANCED_EXAMPLES_TEXT)


FILTERS: dict[str, Callable[..., Any]] = {
    "format_difficulty": format_difficulty,
    "format_learning_style": format_learning_style,
    "add_examples": add_examples,
}

# -- size-checked replacements for builtins that can amplify their input ------------------------------------------

_STR_ONLY = frozenset({str})
# round() precision bound: 10**precision is computed, and a float has no digits past 1e-324 anyway.
MAX_ROUND_PRECISION = 400
# wordwrap(): textwrap spends a few microseconds per output line, and re-slices a word longer than the width
# once per line it fills (quadratic in the word). Refuse calls whose cost estimate passes these.
MAX_WRAP_LINES = 50_000
MAX_WRAP_COPIES = 2 * 10**9


def _center(guard: Guard, value: str, width: int = 80) -> str:
    if width > guard.value_cap:
        raise guard.too_large("a centered string")
    return value.center(width)


def _indent(guard: Guard, value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    if isinstance(width, str):
        indentation = len(width)
    elif isinstance(width, int):
        indentation = width
    else:
        raise TemplateError("indent() width must be a number of spaces or a string.")
    if len(value) + (value.count("\n") + 1) * max(indentation, 0) > guard.value_cap:
        raise guard.too_large("an indented string")
    return jf.do_indent(value, width, first, blank)


def _wordwrap(
    guard: Guard,
    value: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    # Same result as Jinja2's do_wordwrap, but the joined size is known before joining (wrapstring may be long).
    separator = "\n" if wrapstring is None else guard.text(wrapstring)
    _check_wrap_cost(value, width, break_long_words)
    paragraphs = [
        textwrap.wrap(
            line,
            width=width,
            expand_tabs=False,
            replace_whitespace=False,
            break_long_words=break_long_words,
            break_on_hyphens=break_on_hyphens,
        )
        for line in value.splitlines()
    ]
    joins = sum(max(len(lines) - 1, 0) for lines in paragraphs) + max(len(paragraphs) - 1, 0)
    size = sum(len(line) for lines in paragraphs for line in lines) + joins * len(separator)
    if size > guard.value_cap:
        raise guard.too_large("a wrapped string")
    return separator.join([separator.join(lines) for lines in paragraphs])


def _check_wrap_cost(value: str, width: Any, break_long_words: bool) -> None:
    if not isinstance(width, int) or width < 1:
        return  # textwrap itself refuses it
    if len(value) // width > MAX_WRAP_LINES:
        raise TemplateError(f"wordwrap() would make more than {MAX_WRAP_LINES} lines; use a larger width.")
    if break_long_words:
        copies = sum(len(word) * len(word) for word in value.split() if len(word) > width) // width
        if copies > MAX_WRAP_COPIES:
            raise TemplateError("wordwrap() would break very long words into too many pieces; use a larger width.")


def _round(guard: Guard, value: Any, precision: Any = 0, method: str = "common") -> float:
    if not isinstance(precision, int) or abs(precision) > MAX_ROUND_PRECISION:
        raise TemplateError(
            f"round() precision must be a whole number from -{MAX_ROUND_PRECISION} to {MAX_ROUND_PRECISION}."
        )
    return jf.do_round(value, precision, method)


def _trim(guard: Guard, value: str, chars: Any = None) -> str:
    return jf.do_trim(value, strip_chars(chars))


def _replace(guard: Guard, value: str, old: Any, new: Any, count: int | None = None) -> str:
    old, new = guard.text(old), guard.text(new)
    occurrences = len(value) + 1 if old == "" else value.count(old)
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    if len(value) + occurrences * (len(new) - len(old)) > guard.value_cap:
        raise guard.too_large("a replaced string")
    return value.replace(old, new, -1 if count is None else count)


def _join(guard: Guard, context: Context, value: Iterable[Any], d: Any = "", attribute: Any = None) -> str:
    separator = guard.text(d)
    if attribute is not None:
        value = map(make_attrgetter(context.environment, attribute), value)
    # Strings only (the usual case): size it and join it at C speed.
    if type(value) in (list, tuple, str) and set(map(type, value)) <= _STR_ONLY:
        if sum(map(len, value)) + len(separator) * max(len(value) - 1, 0) > guard.value_cap:
            raise guard.too_large("a joined string")
        return separator.join(value)
    parts: list[str] = []
    size = 0
    for item in value:
        text = guard.text(item)
        size += len(text) + len(separator)
        if size > guard.value_cap:
            raise guard.too_large("a joined string")
        parts.append(text)
    return separator.join(parts)


def _positive_count(guard: Guard, count: Any, what: str) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= guard.limits.max_range:
        raise TemplateError(f"{what} must be a whole number from 1 to {guard.limits.max_range}.")
    return count


def _batch(guard: Guard, value: Iterable[Any], linecount: Any, fill_with: Any = None) -> list[list[Any]]:
    count = _positive_count(guard, linecount, "batch() size")
    return list(jf.do_batch(value, count, fill_with))


def _slice(guard: Guard, value: Iterable[Any], slices: Any, fill_with: Any = None) -> list[list[Any]]:
    count = _positive_count(guard, slices, "slice() count")
    return list(jf.sync_do_slice(list(value), count, fill_with))


def _sum(guard: Guard, context: Context, iterable: Iterable[Any], attribute: Any = None, start: Any = 0) -> Any:
    # Only numbers: summing lists or strings (start=[]) is quadratic and builds values the caps don't see.
    if not isinstance(start, int | float):
        raise TemplateError("sum() adds numbers only.")
    return jf.sync_do_sum(context.environment, iterable, attribute, start)


def _string(guard: Guard, value: Any) -> str:
    return guard.text(value)


def _tojson(guard: Guard, context: Context, value: Any, indent: Any = None) -> str:
    if indent is not None and (not isinstance(indent, int) or isinstance(indent, bool) or not 0 <= indent <= 16):
        raise TemplateError("tojson() indent must be a number from 0 to 16.")
    guard.weigh(value, text=True)
    # A plain str, not Markup: Markup's methods are Python-level and would bypass the str-method checks.
    return str(jf.do_tojson(context.eval_ctx, value, indent))


def _truncate(
    guard: Guard,
    context: Context,
    value: str,
    length: int = 255,
    killwords: bool = False,
    end: Any = "...",
    leeway: int | None = None,
) -> str:
    return jf.do_truncate(context.environment, value, length, killwords, guard.text(end), leeway)


# -- the allowlist ----------------------------------------------------------------------------------------------

# Builtins used as they are. Left out on purpose: attr (reaches any attribute by name), format (printf-style
# widths), xmlattr/urlize/urlencode/escape/safe/forceescape/striptags (HTML helpers; plain-text prompts), pprint
# and filesizeformat (not for prompts), random (server and client must render byte-for-byte alike), groupby.
_PLAIN_BUILTINS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "capitalize": jf.do_capitalize,
    "count": len,
    "d": jf.do_default,
    "default": jf.do_default,
    "dictsort": jf.do_dictsort,
    "first": jf.do_first,
    "float": jf.do_float,
    "int": jf.do_int,
    "items": jf.do_items,
    "last": jf.do_last,
    "length": len,
    "list": jf.sync_do_list,
    "lower": jf.do_lower,
    "map": jf.sync_do_map,
    "max": jf.do_max,
    "min": jf.do_min,
    "reject": jf.sync_do_reject,
    "rejectattr": jf.sync_do_rejectattr,
    "reverse": jf.do_reverse,
    "select": jf.sync_do_select,
    "selectattr": jf.sync_do_selectattr,
    "sort": jf.do_sort,
    "title": jf.do_title,
    "unique": jf.sync_do_unique,
    "upper": jf.do_upper,
    "wordcount": jf.do_wordcount,
}

# Replacements that take the guard (and the context when they need the environment).
_GUARD_FILTERS: dict[str, Callable[..., Any]] = {
    "batch": _batch,
    "center": _center,
    "indent": _indent,
    "replace": _replace,
    "round": _round,
    "slice": _slice,
    "string": _string,
    "trim": _trim,
    "wordwrap": _wordwrap,
}
_GUARD_CONTEXT_FILTERS: dict[str, Callable[..., Any]] = {
    "join": _join,
    "sum": _sum,
    "tojson": _tojson,
    "truncate": _truncate,
}

# Filters whose first argument is text: converted through Guard.text first, so a function, a generator or an
# oversized list is refused instead of having its repr lowered, padded or wrapped.
# fmt: off
_TEXT_INPUT = frozenset({
    "add_examples", "capitalize", "center", "indent", "lower", "replace", "title", "trim", "truncate", "upper",
    "wordcount", "wordwrap",
})
# fmt: on


def _wrap_plain(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A guarded filter around a builtin or custom filter, passing whatever context argument it asks for."""
    text_input = name in _TEXT_INPUT
    pass_arg = _PassArg.from_obj(fn)

    @pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        guard = CURRENT.get() or unbounded()
        guard.budget -= 1  # Guard.tick, inlined: this runs for every filter of every render
        if guard.budget < 0 or monotonic() > guard.deadline:
            guard.stop()
        if text_input and type(value) is not str:
            value = guard.text(value)
        if pass_arg is None:
            result = fn(value, *args, **kwargs)
        elif pass_arg is _PassArg.context:
            result = fn(context, value, *args, **kwargs)
        elif pass_arg is _PassArg.eval_context:
            result = fn(context.eval_ctx, value, *args, **kwargs)
        else:
            result = fn(context.environment, value, *args, **kwargs)
        if type(result) is str:
            if len(result) > guard.value_cap:
                raise guard.too_large()
            return result
        return guard.check(result)

    guarded.__name__ = guarded.__qualname__ = name
    return guarded


def _wrap_guard(name: str, fn: Callable[..., Any], *, with_context: bool) -> Callable[..., Any]:
    text_input = name in _TEXT_INPUT

    @pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        guard = current()
        guard.tick()
        if text_input and type(value) is not str:
            value = guard.text(value)
        if with_context:
            return guard.check(fn(guard, context, value, *args, **kwargs))
        return guard.check(fn(guard, value, *args, **kwargs))

    guarded.__name__ = guarded.__qualname__ = name
    return guarded


def build_filters() -> dict[str, Callable[..., Any]]:
    """The environment's filter table: every allowlisted filter, wrapped."""
    table = {name: _wrap_plain(name, fn) for name, fn in {**_PLAIN_BUILTINS, **FILTERS}.items()}
    table.update({name: _wrap_guard(name, fn, with_context=False) for name, fn in _GUARD_FILTERS.items()})
    table.update({name: _wrap_guard(name, fn, with_context=True) for name, fn in _GUARD_CONTEXT_FILTERS.items()})
    return table


# -- tests --------------------------------------------------------------------------------------------------------

# Constant-time type and value tests, used as they are (and foldable at compile time, which is harmless).
_PLAIN_TESTS: dict[str, Callable[..., Any]] = {
    "boolean": jt.test_boolean,
    "defined": jt.test_defined,
    "divisibleby": jt.test_divisibleby,
    "even": jt.test_even,
    "false": jt.test_false,
    "float": jt.test_float,
    "integer": jt.test_integer,
    "mapping": jt.test_mapping,
    "none": jt.test_none,
    "number": jt.test_number,
    "odd": jt.test_odd,
    "sameas": jt.test_sameas,
    "sequence": jt.test_sequence,
    "string": jt.test_string,
    "true": jt.test_true,
    "undefined": jt.test_undefined,
}
# Tests that compare or scan whole values: charged like filters (a long chain of them must hit the deadline).
# fmt: off
_SCANNING_TESTS: dict[str, Callable[..., Any]] = {
    name: jt.TESTS[name]
    for name in (
        "in", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge",
        ">=", "lower", "upper", "iterable",
    )
}
# fmt: on


def _wrap_test(fn: Callable[..., Any]) -> Callable[..., Any]:
    @pass_context
    def guarded(context: Context, value: Any, *args: Any) -> Any:
        current().tick()
        return fn(value, *args)

    return guarded


def build_tests() -> Mapping[str, Callable[..., Any]]:
    return {**_PLAIN_TESTS, **{name: _wrap_test(fn) for name, fn in _SCANNING_TESTS.items()}}
