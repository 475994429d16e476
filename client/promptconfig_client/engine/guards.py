"""Per-render guard state shared by every check the sandbox layers over Jinja2.

Jinja2's sandbox stops attribute and call escapes but bounds neither CPU nor memory. The engine adds three things,
all read from the `Guard` of the render in progress (a contextvar, so concurrent renders in threads never share one):

* an operations budget and a wall-clock deadline, charged by every template-level call, filter, test, comparison,
  loop iteration and range item (`Guard.tick`);
* a cap on the printed size ("weight") of every value a template builds, checked where values are built (operators,
  literals, call arguments and results, filter results) so that no single operation can be handed a huge value;
* text conversion (`Guard.text`) that refuses to print anything but data, so functions, methods and runtime objects
  never leak their reprs into the output.

Under these invariants every individual operation is linear (or n log n) in at most `Limits.max_value_size`, and
the deadline is checked between operations, so a render ends within about one operation of its deadline.
"""

from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from time import monotonic
from typing import Any

from jinja2.runtime import Undefined

from .errors import TemplateError
from .limits import Limits

_NONE_TYPE = type(None)
# Types whose printed size is small and fixed; float covers "1.2345678901234567e+308".
_SMALL_SCALARS = frozenset({float, bool, _NONE_TYPE})
_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_CONTAINERS = (list, tuple, dict, set, frozenset, *_DICT_VIEWS)
_CONTAINER_TYPES = frozenset(_CONTAINERS)
# Largest integer (in bits) a template may build: 1234 decimal digits, far below CPython's 4300-digit int/str
# conversion limit, and cheap to multiply or divide.
MAX_INT_BITS = 4096
# Most distinct characters strip()/trim() may be given: CPython scans the whole set for every stripped character.
MAX_STRIP_CHARS = 256
# Containers shorter than this are re-measured rather than cached: cheaper than the cache bookkeeping.
_CACHE_MIN_LEN = 16
# Range items are charged to the budget in batches of this many (one deadline check per batch).
_RANGE_BATCH = 256

CURRENT: ContextVar["Guard | None"] = ContextVar("promptconfig_engine_guard", default=None)
# Non-data types whose str() is safe and short (the bounded range); registered by the sandbox module.
PRINTABLE_TYPES: set[type] = set()


class Guard:
    """Budget, deadline and size caps of one render (or one compile)."""

    __slots__ = ("budget", "deadline", "depth", "limits", "templates", "value_cap", "weights")

    def __init__(self, limits: Limits, templates: dict[str, Any] | None = None, deadline: float | None = None) -> None:
        self.limits = limits
        self.budget = limits.max_calls
        self.deadline = monotonic() + limits.time_budget_ms / 1000 if deadline is None else deadline
        self.value_cap = limits.max_value_size
        self.depth = 0  # template-level call nesting (macros calling macros)
        self.templates = templates  # include name -> compiled template, for this render's includes
        self.weights: dict[int, tuple[Any, int]] | None = None  # id(container) -> (container, weight)

    # -- budget and deadline ------------------------------------------------------------------------------------

    def tick(self, cost: int = 1) -> None:
        """Charge `cost` operations and check the deadline; raise TemplateError once either is exhausted.

        The hottest wrappers (filters) inline these three lines rather than pay for the method call.
        """
        self.budget -= cost
        if self.budget < 0 or monotonic() > self.deadline:
            self.stop()

    def stop(self) -> None:
        if self.budget < 0:
            raise TemplateError(
                f"The template does too much work: more than {self.limits.max_calls} operations "
                "(calls, filters, loop iterations)."
            )
        raise TemplateError(f"The template took longer than its time budget of {self.limits.time_budget_ms} ms.")

    # -- value sizes --------------------------------------------------------------------------------------------

    def check(self, value: Any) -> Any:
        """Return `value` if its printed size is within the cap, else raise TemplateError."""
        kind = type(value)
        if kind is str:
            if len(value) > self.value_cap:
                raise self.too_large()
        elif kind is int:
            if value.bit_length() > MAX_INT_BITS:
                raise too_big_number()
        elif (kind in _CONTAINER_TYPES or isinstance(value, str)) and self.weigh(value, text=False) > self.value_cap:
            raise self.too_large()
        return value

    def too_large(self, what: str = "a value") -> TemplateError:
        return TemplateError(f"The template builds {what} larger than {self.value_cap} characters.")

    def weigh(self, value: Any, *, text: bool) -> int:
        """The printed size of `value` (what str() would produce, approximately), raising once past the cap.

        Shared sub-structures are counted every time they appear (that is what printing them costs), but each
        large container is measured once per render: the id cache keeps a reference so the id stays valid.
        With `text`, values that are not data (functions, methods, runtime objects) raise instead of counting.
        """
        kind = type(value)
        if kind is str:
            return len(value) + 2
        if kind is int:
            return value.bit_length() // 3 + 2  # decimal digits <= bits / 3.32
        if kind in _SMALL_SCALARS:
            return 24
        if isinstance(value, _CONTAINERS):
            return self._weigh_container(value, text)
        if isinstance(value, str):
            return len(value) + 2
        if isinstance(value, Undefined):
            if text:
                str(value)  # StrictUndefined raises its own, precise error
            return 0
        if text and kind not in PRINTABLE_TYPES:
            raise TemplateError(f"The template tried to print {describe(value)}, which is not data.")
        return 16

    def _weigh_container(self, value: Any, text: bool) -> int:
        key = -id(value) if text else id(value)
        if self.weights is not None:
            hit = self.weights.get(key)
            if hit is not None:
                return hit[1]
        cap = self.value_cap
        if type(value) is list or type(value) is tuple:
            flat = _flat_weight(value)
            if flat is not None:
                if flat > cap:
                    raise self.too_large()
                return flat
        total = 2
        # Cache long containers and any container holding containers: without the cache, a small list nesting
        # the same list twice, twenty levels deep, would be walked 2**20 times.
        cacheable = len(value) >= _CACHE_MIN_LEN
        items: Iterable[Any] = value.items() if isinstance(value, dict) else value
        for item in items:
            if type(item) in _CONTAINER_TYPES:
                cacheable = True
            total += self.weigh(item, text=text) + 2
            if total > cap:
                raise self.too_large()
        if cacheable:
            if self.weights is None:
                self.weights = {}
            self.weights[key] = (value, total)
        return total

    # -- text ---------------------------------------------------------------------------------------------------

    def text(self, value: Any) -> str:
        """str(value) for printing: only data, and only within the size cap."""
        if type(value) is str:
            return value
        self.weigh(value, text=True)
        return str(value)


_STR_ONLY = frozenset({str})
_INT_ONLY = frozenset({int, bool})
_SCALAR_TYPES = frozenset({int, bool, float, _NONE_TYPE})


def _flat_weight(sequence: list[Any] | tuple[Any, ...]) -> int | None:
    """The weight of a list or tuple of plain strings or numbers, computed at C speed; None for anything else.

    A 100,000-item list from `|list` or `split()` is weighed in milliseconds instead of tens of them.
    """
    kinds = set(map(type, sequence))
    if kinds <= _STR_ONLY:
        return 2 + sum(map(len, sequence)) + 4 * len(sequence)
    if kinds <= _INT_ONLY:
        return 2 + sum(map(int.bit_length, sequence)) // 3 + 4 * len(sequence)
    if kinds <= _SCALAR_TYPES and int not in kinds:
        return 2 + 26 * len(sequence)
    return None


def too_big_number() -> TemplateError:
    return TemplateError(f"The template builds a number larger than {MAX_INT_BITS} bits.")


def strip_chars(chars: Any) -> Any:
    """The `chars` argument of strip()/trim() as a set of distinct characters (same result), refused if huge.

    CPython's strip scans all of `chars` for each character it strips: a long `chars` makes it quadratic.
    """
    if not isinstance(chars, str) or len(chars) <= MAX_STRIP_CHARS:
        return chars
    distinct = "".join(dict.fromkeys(chars))
    if len(distinct) > MAX_STRIP_CHARS:
        raise TemplateError(f"strip() and trim() take at most {MAX_STRIP_CHARS} distinct characters.")
    return distinct


def describe(value: Any) -> str:
    """A human name for a non-data value, without its repr (which may carry module paths and addresses)."""
    if callable(value):
        return "a function or method"
    if hasattr(value, "__next__"):
        return "an iterator (apply |list or |join first)"
    return f"a {type(value).__name__} object"


# A guard for code running outside a render (constant folding at compile time, direct use of the environment).
# No deadline and an effectively unlimited budget: what runs there is bounded by the source size.
_UNBOUNDED = Limits(time_budget_ms=10**12, max_calls=10**15)


def current() -> Guard:
    """The guard of the render in progress, or a fresh unbounded-time one outside renders."""
    return CURRENT.get() or unbounded()


def unbounded() -> Guard:
    return Guard(_UNBOUNDED)


def charged(iterable: Iterable[Any]) -> Iterator[Any]:
    """Iterate `iterable`, charging the current render's budget per item (in batches) and checking its deadline."""
    guard = current()
    pending = 0
    for item in iterable:
        pending += 1
        if pending == _RANGE_BATCH:
            guard.tick(pending)
            pending = 0
        yield item
    if pending:
        guard.tick(pending)
