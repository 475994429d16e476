"""Resource limits of one render. The defaults are the server's; a deployment may tighten or loosen them."""

from dataclasses import dataclass, fields
from functools import cached_property


@dataclass(frozen=True)
class Limits:
    time_budget_ms: int = 250  # per render, wall clock
    max_output_bytes: int = 256 * 1024  # rendered text cap (UTF-8 bytes)
    max_source_bytes: int = 64 * 1024  # template source cap, checked at save time and before compile
    max_include_depth: int = 5
    max_range: int = 10_000  # largest range() a template may build
    max_calls: int = 100_000  # operations budget per render: calls, filters, loop iterations
    max_nodes: int = 3_000  # syntax tree size of one template (compiling is not interruptible: bound it)

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{field.name} must be a positive integer, not {value!r}")

    @cached_property  # read on every render; cached_property writes __dict__ directly, so frozen is fine
    def max_value_size(self) -> int:
        """Largest printed size of a value a template may build (a string, or the str() of a list or dict).

        Four times the output cap: room for intermediate values that are trimmed or only partly printed, while any
        single operation on such a value stays cheap (linear in a few megabytes at most).
        """
        return 4 * self.max_output_bytes
