"""The guarded Jinja2 environment: ImmutableSandboxedEnvironment plus resource guards.

What is layered over Jinja2's sandbox, and why:

* `call_binop` intercepts `+ * ** %`: sizes are checked before a string, list or integer is built. Intercepted
  operators are also never constant-folded, so `{{ 9**(9**9) }}` cannot hang inside compilation.
* `call` charges the budget, checks the deadline and call nesting, allows only listed methods of builtin types
  (with size checks for the padding/replacing/joining ones) and checks the size of arguments and results.
* An AST pass (`GuardTransformer`) routes for-loop iterables, `~` concatenation, comparisons, slices and
  non-constant list/tuple/dict literals through internal filters that charge the budget and check sizes.
* `concat` (the join Jinja2 uses for macro, block and `{% set %}` bodies) checks the joined size first.
* Every `{{ expression }}` is printed through `_pc_output` (also inserted by the AST pass), which prints only
  data: no function, method or runtime-object reprs reach the output. It also joins each output node into one
  chunk, which is most of why a guarded render is not slower than a plain one.
* Globals are an allowlist: a bounded `range`, `dict` (keyword form), `namespace`, `cycler`, `joiner`.
"""

import math
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.exceptions import TemplateNotFound, UndefinedError
from jinja2.nodes import EvalContext, Impossible
from jinja2.runtime import Context, LoopContext, StrictUndefined, missing
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer

from .errors import TemplateError
from .filters import build_filters, build_tests
from .guards import MAX_INT_BITS, PRINTABLE_TYPES, Guard, charged, current, strip_chars, too_big_number

# Deepest nesting of template-level calls (a macro calling itself). Each level costs about five Python frames,
# so this stays far below the interpreter's recursion limit even inside a deep server stack.
MAX_CALL_DEPTH = 64

LOOP_FILTER = "_pc_loop"
CONCAT_FILTER = "_pc_concat"
OUTPUT_FILTER = "_pc_output"
# Dynamic parts joined into one output chunk at most: keeps a chunk within a few value caps before the
# output cap is checked, while a typical prompt line still renders as a single chunk.
MAX_OUTPUT_PARTS = 8
TICK_FILTER = "_pc_tick"
VALUE_FILTER = "_pc_value"


# -- undefined names ----------------------------------------------------------------------------------------------


class MissingName(UndefinedError):
    """A top-level name the template reads is not among the variables (not: an attribute a value lacks)."""

    def __init__(self, message: str | None = None, name: str = "") -> None:
        super().__init__(message)
        self.name = name


class GuardedUndefined(StrictUndefined):
    """StrictUndefined whose error for a missing top-level name says which name, so the engine can list them all."""

    __slots__ = ()

    def __init__(
        self, hint: str | None = None, obj: Any = missing, name: str | None = None, exc: type = UndefinedError
    ) -> None:
        if exc is UndefinedError and hint is None and obj is missing and name is not None:
            exc = partial(MissingName, name=name)  # type: ignore[assignment]
        super().__init__(hint, obj, name, exc)


# -- globals ------------------------------------------------------------------------------------------------------


class BoundedRange:
    """range() for templates: at most Limits.max_range items, and iterating it charges the render's budget."""

    __slots__ = ("_raw",)  # underscore: templates cannot reach the plain range

    def __init__(self, raw: range) -> None:
        self._raw = raw

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Iterator[int]:
        return charged(self._raw)

    def __reversed__(self) -> Iterator[int]:
        return charged(reversed(self._raw))

    def __contains__(self, item: Any) -> bool:
        return item in self._raw

    def __getitem__(self, index: Any) -> Any:
        item = self._raw[index]
        return BoundedRange(item) if isinstance(item, range) else item

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoundedRange) and self._raw == other._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return repr(self._raw)


PRINTABLE_TYPES.add(BoundedRange)


def _range(*args: Any) -> BoundedRange:
    guard = current()
    if not all(isinstance(arg, int) for arg in args):
        raise TemplateError("range() takes whole numbers.")
    raw = range(*args)
    try:
        size = len(raw)
    except OverflowError:
        size = guard.limits.max_range + 1
    if size > guard.limits.max_range:
        raise TemplateError(f"range() may produce at most {guard.limits.max_range} items.")
    return BoundedRange(raw)


def _dict(**items: Any) -> dict[str, Any]:
    """dict(a=1, b=2). A function, not the dict type: the type would expose dict.fromkeys and friends."""
    return items


def _namespace(*args: Any, **kwargs: Any) -> Namespace:
    return Namespace(*args, **kwargs)


def _cycler(*items: Any) -> Cycler:
    return Cycler(*items)


def _joiner(sep: str = ", ") -> Joiner:
    return Joiner(sep)


GLOBALS: dict[str, Callable[..., Any]] = {
    "range": _range,
    "dict": _dict,
    "namespace": _namespace,
    "cycler": _cycler,
    "joiner": _joiner,
}


# -- operators ----------------------------------------------------------------------------------------------------


def _repeat(guard: Guard, left: Any, right: Any) -> Any:
    """`*`: a string or sequence repeated, or a product of integers, refused before it gets too large."""
    if isinstance(right, int) and isinstance(left, str | list | tuple):
        sequence, times = left, right
    elif isinstance(left, int) and isinstance(right, str | list | tuple):
        sequence, times = right, left
    else:
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise too_big_number()
        return left * right
    if times > 0:
        unit = len(sequence) if isinstance(sequence, str) else guard.weigh(sequence, text=False)
        if unit * times > guard.value_cap:
            raise guard.too_large()
    return sequence * times


def _add(guard: Guard, left: Any, right: Any) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        if len(left) + len(right) > guard.value_cap:
            raise guard.too_large()
    elif (
        isinstance(left, list | tuple)
        and isinstance(right, list | tuple)
        and guard.weigh(left, text=False) + guard.weigh(right, text=False) > guard.value_cap
    ):
        raise guard.too_large()
    return left + right


def _power(guard: Guard, left: Any, right: Any) -> Any:
    # The size of an integer power before computing it: right * log2(|left|) bits.
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and abs(left) > 1
        and right * math.log2(abs(left)) > MAX_INT_BITS
    ):
        raise too_big_number()
    return left**right


def _modulo(guard: Guard, left: Any, right: Any) -> Any:
    if isinstance(left, str):
        # printf-style formatting: widths like '%999999999d' and reprs of arbitrary values.
        raise TemplateError("The % operator does not format strings in templates; use ~ and filters instead.")
    return left % right


_BINOPS: dict[str, Callable[[Guard, Any, Any], Any]] = {"*": _repeat, "+": _add, "**": _power, "%": _modulo}


# -- methods of builtin types -------------------------------------------------------------------------------------

# Left out: format/format_map (refused as attributes too), encode, expandtabs, translate, maketrans.
# fmt: off
_STR_METHODS = frozenset({
    "capitalize", "casefold", "center", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii",
    "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper",
    "join", "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
    "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
    "upper", "zfill",
})
# fmt: on
_SEQUENCE_METHODS = frozenset({"count", "index", "copy"})
_DICT_METHODS = frozenset({"get", "items", "keys", "values", "copy"})


def _check_width(guard: Guard, owner: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if args and isinstance(args[0], int) and args[0] > guard.value_cap:
        raise guard.too_large("a padded string")
    return args


def _check_replace(guard: Guard, owner: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        old, new = args[0], args[1]
        occurrences = len(owner) + 1 if old == "" else owner.count(old)
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            occurrences = min(occurrences, args[2])
        if len(owner) + occurrences * (len(new) - len(old)) > guard.value_cap:
            raise guard.too_large("a replaced string")
    return args


def _check_join(guard: Guard, owner: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(args) != 1:
        return args
    items = list(charged(args[0])) if not isinstance(args[0], list | tuple) else args[0]
    size = len(owner) * max(len(items) - 1, 0) + sum(len(item) for item in items if isinstance(item, str))
    if size > guard.value_cap:
        raise guard.too_large("a joined string")
    return (items,)


def _check_strip(guard: Guard, owner: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (strip_chars(args[0]), *args[1:]) if args else args


_STR_SIZERS: dict[str, Callable[[Guard, str, tuple[Any, ...]], tuple[Any, ...]]] = {
    "strip": _check_strip,
    "lstrip": _check_strip,
    "rstrip": _check_strip,
    "center": _check_width,
    "ljust": _check_width,
    "rjust": _check_width,
    "zfill": _check_width,
    "replace": _check_replace,
    "join": _check_join,
}


def _check_builtin_method(guard: Guard, method: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Allow only listed methods of str, list, tuple and dict; size-check the ones that can amplify."""
    owner = method.__self__
    name = method.__name__
    if isinstance(owner, str):
        allowed = _STR_METHODS
    elif type(owner) in (list, tuple):
        allowed = _SEQUENCE_METHODS
    elif type(owner) is dict:
        allowed = _DICT_METHODS
    else:
        allowed = frozenset()
    if name not in allowed:
        raise TemplateError(f"Templates may not call the method {name!r} of a {type(owner).__name__} value.")
    sizer = _STR_SIZERS.get(name) if allowed is _STR_METHODS else None
    return sizer(guard, owner, args) if sizer is not None else args


# -- internal filters the AST pass inserts ------------------------------------------------------------------------


@pass_context
def _loop_filter(context: Context, iterable: Any) -> Iterable[Any]:
    """The iterable of a for loop: sized ones are charged up front, iterators per item."""
    guard = current()
    if type(iterable) is BoundedRange:
        guard.tick(len(iterable) + 1)
        return iterable._raw  # already charged: iterate the plain range at C speed
    try:
        size = len(iterable)
    except TypeError:
        guard.tick()
        return charged(iterable)
    guard.tick(size + 1)
    return iterable


@pass_context
def _concat_filter(context: Context, first: Any, *rest: Any) -> str:
    """`a ~ b ~ c`: the same text as Jinja2's str_join, with the joined size checked before joining."""
    guard = current()
    guard.tick()
    parts = [guard.text(first), *(guard.text(part) for part in rest)]
    if sum(map(len, parts)) > guard.value_cap:
        raise guard.too_large()
    return "".join(parts)


@pass_context
def _tick_filter(context: Context, value: Any) -> Any:
    current().tick()
    return value


@pass_context
def _value_filter(context: Context, value: Any) -> Any:
    guard = current()
    guard.tick()
    return guard.check(value)


def _guarded_concat(parts: Iterable[str]) -> str:
    """Environment.concat: joins macro, block, call and `{% set %}` bodies; sized before joining."""
    if not isinstance(parts, list):
        parts = list(parts)
    guard = current()
    if sum(map(len, parts)) > guard.value_cap:
        raise guard.too_large("a block of output")
    return "".join(parts)


@pass_context
def _output_filter(context: Context, *parts: Any) -> str:
    """One output chunk: the static text and `{{ expressions }}` of an output node, joined.

    Every `{{ expression }}` is printed through here, so only data is ever printed (no function or runtime-object
    reprs). Strings take the C path; anything else (numbers, lists, undefined) makes join raise TypeError and is
    converted by Guard.text, which refuses non-data and oversized values.
    """
    try:
        return "".join(parts)
    except TypeError:
        guard = current()
        return "".join([part if type(part) is str else guard.text(part) for part in parts])


# -- the AST pass -------------------------------------------------------------------------------------------------


def _wrap(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class GuardTransformer(NodeTransformer):
    """Rewrites a parsed template so loops, concatenation, comparisons, slices and literals are guarded."""

    def __init__(self, environment: "GuardedEnvironment") -> None:
        self.eval_ctx = EvalContext(environment)

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        """Group each run of static text and expressions into one `_pc_output` join (one chunk, data only)."""
        self.generic_visit(node)
        groups: list[tuple[list[nodes.Expr], int]] = []
        parts: list[nodes.Expr] = []
        dynamic = 0
        for child in node.nodes:
            text = self._static_text(child)
            if text is not None:
                parts.append(nodes.Const(text, lineno=child.lineno))
                continue
            if dynamic == MAX_OUTPUT_PARTS:
                groups.append((parts, dynamic))
                parts, dynamic = [], 0
            parts.append(child)
            dynamic += 1
        groups.append((parts, dynamic))
        node.nodes = []
        for group, count in groups:
            if count:
                node.nodes.append(nodes.Filter(group[0], OUTPUT_FILTER, group[1:], [], None, None, lineno=node.lineno))
            else:
                node.nodes.extend(group)  # static only: Jinja2 emits it as constant text
        return node

    def _static_text(self, node: nodes.Expr) -> str | None:
        if isinstance(node, nodes.TemplateData):
            return node.data
        try:
            # What Jinja2 prints for a constant, if it is data: `{{ 'a'.upper }}` folds to a bound method.
            return current().text(node.as_const(self.eval_ctx))
        except Exception:
            return None

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _wrap(node.iter, LOOP_FILTER)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        first, *rest = node.nodes
        return nodes.Filter(first, CONCAT_FILTER, rest, [], None, None, lineno=node.lineno)

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        for operand in node.ops:
            operand.expr = _wrap(operand.expr, TICK_FILTER)
        return node

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        if node.ctx == "load" and isinstance(node.arg, nodes.Slice):
            return _wrap(node, TICK_FILTER)
        return node

    def _literal(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load" or self._is_constant(node):
            return node
        return _wrap(node, VALUE_FILTER)

    visit_List = visit_Tuple = visit_Dict = _literal

    def _is_constant(self, node: nodes.Expr) -> bool:
        try:
            node.as_const(self.eval_ctx)
        except Impossible:
            return False
        return True


# -- the environment ----------------------------------------------------------------------------------------------


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    """One per Engine; per-render state lives in the Guard (a contextvar), never on the environment."""

    intercepted_binops = frozenset(_BINOPS)

    def __init__(self) -> None:
        super().__init__(
            undefined=GuardedUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            cache_size=0,
            auto_reload=False,
        )
        self.globals.clear()
        self.globals.update(GLOBALS)
        self.filters = build_filters()
        self.filters.update(
            {
                LOOP_FILTER: _loop_filter,
                CONCAT_FILTER: _concat_filter,
                OUTPUT_FILTER: _output_filter,
                TICK_FILTER: _tick_filter,
                VALUE_FILTER: _value_filter,
            }
        )
        self.tests = dict(build_tests())
        self.concat = _guarded_concat  # type: ignore[assignment]

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in ("format", "format_map"):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        # Jinja2 would hand out a sandboxed str.format; we refuse format altogether (width/fill amplification).
        return None

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        guard = current()
        guard.tick()
        return _BINOPS[operator](guard, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        guard = current()
        guard.tick()
        kind = type(__obj)
        if kind is BuiltinMethodType:
            args = _check_builtin_method(guard, __obj, args)
        elif kind is LoopContext:
            # loop(children) in a recursive for loop: guard its iterable like any loop's.
            if args:
                args = (_loop_filter(__context, args[0]), *args[1:])
        elif kind is MethodType and isinstance(__obj.__self__, str):
            raise TemplateError("Templates may not call methods of this kind of string.")
        elif not __self.is_safe_callable(__obj):
            raise TemplateError("Templates may not call this object.")
        if args or kwargs:
            _check_arguments(guard, args, kwargs)
        guard.depth += 1
        try:
            if guard.depth > MAX_CALL_DEPTH:
                raise TemplateError(f"Calls are nested more than {MAX_CALL_DEPTH} deep (a macro calling itself?).")
            result = __context.call(__obj, *args, **kwargs)
        finally:
            guard.depth -= 1
        return guard.check(result)

    def _load_template(self, name: str, globals: Any) -> Any:
        # Includes come from the render's own mapping (compiled through the engine's cache), never from disk.
        templates = current().templates
        template = templates.get(name) if templates else None
        if template is None:
            raise TemplateNotFound(name)
        return template


_INTERNAL_KWARGS = frozenset({"_loop_vars", "_block_vars", "caller"})


def _check_arguments(guard: Guard, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The arguments of one call together (a macro's varargs, a cycler's items) stay within the size cap."""
    total = 0
    for arg in args:
        total += guard.weigh(arg, text=False)
    for key, value in kwargs.items():
        if key not in _INTERNAL_KWARGS:
            total += guard.weigh(value, text=False)
    if total > guard.value_cap:
        raise guard.too_large("call arguments")
