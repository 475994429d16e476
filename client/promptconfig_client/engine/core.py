"""The Engine: compile (cached), analyse and render templates in the guarded sandbox."""

import hashlib
import itertools
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from jinja2 import exceptions as jinja_errors
from jinja2 import meta, nodes
from jinja2.environment import Template

from . import schema as schemas
from .errors import MissingVariables, RenderError, TemplateError
from .guards import CURRENT, Guard
from .limits import Limits
from .sandbox import GuardedEnvironment, GuardTransformer, MissingName

_DEFAULT_LIMITS = Limits()
# Tags cache keys derived from a source digest, so they can never equal a caller's cache_key.
_SOURCE_KEY = object()


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled template and what the engine needs to know about it without re-parsing."""

    template: Template
    variables: frozenset[str]  # names read from the context (excluding the engine's globals)
    stores: frozenset[str]  # names the template assigns (set, for, macro parameters): seen by its includes
    includes: tuple[tuple[str, bool], ...]  # (name, ignore_missing) of each direct include


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class _LRU:
    """A small thread-safe LRU of compiled templates."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.hits = self.misses = 0
        self._data: OrderedDict[Hashable, Compiled] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Compiled | None:
        # No lock on the hot path: OrderedDict's get and move_to_end are single C calls, atomic under the GIL
        # (keys are version ids and digests, whose hash and eq never run Python code). An entry evicted between
        # the two calls is simply not moved. The hit/miss counters are statistics, not exact under contention.
        entry = self._data.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        try:
            self._data.move_to_end(key)
        except KeyError:  # evicted by another thread in between: still a valid compiled template
            return entry
        return entry

    def put(self, key: Hashable, entry: Compiled) -> None:
        with self._lock:
            self._data[key] = entry
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self.hits, self.misses, self.maxsize, len(self._data))


# Finding every missing variable re-renders with a placeholder for each found so far (error path only).
MAX_MISSING_PROBES = 20
MISSING_PLACEHOLDER = "?"


class Engine:
    """Compiles and renders prompt templates. Thread-safe; one instance is meant to serve a whole process."""

    def __init__(self, limits: Limits = _DEFAULT_LIMITS, compiled_cache_size: int = 2048) -> None:
        self.limits = limits
        self._env = GuardedEnvironment()
        self._globals = frozenset(self._env.globals)
        self._cache = _LRU(compiled_cache_size)
        self._validators = schemas.SchemaValidators()

    # -- save-time checks ---------------------------------------------------------------------------------------

    def check_source(self, source: str) -> None:
        """Raise TemplateError if the source is too large, does not parse or compile (the message names the line;
        details {"line": n}), includes a non-constant name, or would blow up while compiling."""
        with template_errors():
            self._compile(source)

    def variables(self, source: str) -> list[str]:
        """Sorted names the body reads from its context, excluding the engine's globals."""
        with template_errors():
            return sorted(self._variables(self._parse(source)))

    def includes(self, source: str) -> list[str]:
        """Sorted constant template names this body includes directly."""
        with template_errors():
            return sorted({name for name, _ in _include_names(self._parse(source))})

    def resolve_includes(self, source: str, load: Callable[[str], str | None]) -> dict[str, str]:
        """Every template reachable through includes, transitively, as {name: source}.

        `load(name)` returns a template's source or None (unknown: TemplateError naming it). A cycle, or nesting
        deeper than limits.max_include_depth, raises TemplateError.
        """
        sources: dict[str, str] = {}

        def children(name: str | None) -> list[str]:
            body = source if name is None else sources[name]
            try:
                with template_errors():
                    wanted = _include_names(self._parse(body))
            except TemplateError as exc:
                if name is None:
                    raise
                raise TemplateError(f"Included template {name!r}: {exc.message}", exc.details) from None
            found = []
            for child, optional in wanted:
                if child not in sources:
                    try:
                        loaded = load(child)
                    except Exception as exc:
                        raise _LoaderError(exc) from exc
                    if loaded is None:
                        if optional:
                            continue
                        raise _unknown_include(child, name)
                    sources[child] = loaded
                found.append(child)
            return found

        try:
            with template_errors():
                walk_includes(children, self.limits.max_include_depth)
        except _LoaderError as exc:
            raise exc.original from None  # the caller's own failure (a database error, say), not the template's
        return sources

    def check_schema(self, schema: dict | None) -> None:
        """TemplateError if the JSON Schema itself is invalid."""
        with template_errors():
            schemas.check_schema(self._validators, schema)

    def validate_variables(self, variables: Mapping[str, Any], schema: dict | None) -> None:
        """InvalidVariables (per top-level variable, "$" for the whole) unless the variables match the schema."""
        with template_errors():
            schemas.validate(self._validators, variables, schema)

    def cache_info(self) -> CacheInfo:
        """Hits, misses and size of the compiled-template cache."""
        return self._cache.info()

    # -- rendering ----------------------------------------------------------------------------------------------

    def render(
        self,
        source: str,
        variables: Mapping[str, Any],
        *,
        includes: Mapping[str, str] | None = None,
        schema: dict | None = None,
        cache_key: Hashable | None = None,
        deadline: float | None = None,
    ) -> str:
        """Validate the variables, then render in the guarded sandbox.

        `includes` maps include names to sources (as resolve_includes returns them). `cache_key` must identify an
        immutable source (a version id): the compiled template is cached under it; without one, under a digest of
        the source. Every failure is a RenderError: MissingVariables names every variable the body and its
        includes read that was not supplied; anything else (Jinja2 errors, sandbox violations, limits) is a
        TemplateError whose message carries no Python internals.

        Everything counts against one deadline (`time.monotonic()` seconds; default: now plus the time budget):
        schema validation, compiling, the render and the search for missing variables. A caller rendering
        several templates for one request passes the request's deadline to each.
        """
        if deadline is None:
            deadline = time.monotonic() + self.limits.time_budget_ms / 1000
        try:
            schemas.check_data(variables)
            if schema is not None:
                schemas.validate(self._validators, variables, schema, deadline)
            compiled = self._lookup(source, cache_key)
            graph = self._include_graph(compiled, includes) if compiled.includes else None
            self._check_deadline(deadline)
            try:
                return self._guarded_generate(compiled, graph, variables, deadline)
            except MissingName as exc:
                raise self._missing(compiled, graph, variables, exc.name, deadline) from None
        except RenderError:
            raise
        except Exception as exc:
            raise convert(exc) from None

    def _check_deadline(self, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise TemplateError(f"The template took longer than its time budget of {self.limits.time_budget_ms} ms.")

    def required_variables(
        self,
        source: str,
        variables: Mapping[str, Any],
        *,
        includes: Mapping[str, str] | None = None,
        cache_key: Hashable | None = None,
        deadline: float | None = None,
    ) -> list[str]:
        """What a render with these variables still needs: the names MissingVariables would give (sorted), or
        [] when it renders. Names read only behind `is defined`, `default` and the like are never needed.
        Other render errors (a runtime error, a limit) are left to the render itself: they give [], except
        running past `deadline`, which raises TemplateError."""
        try:
            self.render(source, variables, includes=includes, cache_key=cache_key, deadline=deadline)
        except MissingVariables as exc:
            return exc.missing
        except RenderError:
            if deadline is not None:
                self._check_deadline(deadline)
        return []

    def _guarded_generate(
        self, compiled: Compiled, graph: dict[str, Compiled] | None, variables: Mapping[str, Any], deadline: float
    ) -> str:
        templates = {name: entry.template for name, entry in graph.items()} if graph else None
        token = CURRENT.set(Guard(self.limits, templates, deadline))
        try:
            return self._generate(compiled.template, variables)
        finally:
            CURRENT.reset(token)

    def _missing(
        self,
        compiled: Compiled,
        graph: dict[str, Compiled] | None,
        variables: Mapping[str, Any],
        first: str,
        deadline: float,
    ) -> MissingVariables:
        """Every variable the render needs that was not supplied, found by rendering again with a placeholder
        for each one found so far. A name behind `is defined` or `default` never fails, so it is not listed;
        a name behind a condition on a missing one is (the placeholder is truthy). Bounded in renders and by
        the render's own deadline: what is found by then is reported."""
        missing, probe = [first], dict(variables)
        while len(missing) <= MAX_MISSING_PROBES and time.monotonic() < deadline:
            probe[missing[-1]] = MISSING_PLACEHOLDER
            try:
                self._guarded_generate(compiled, graph, probe, deadline)
            except MissingName as exc:
                if exc.name in probe:
                    break
                missing.append(exc.name)
                continue
            except Exception:  # the placeholder broke something else, or the deadline passed: report what is known
                pass
            break
        return MissingVariables(sorted(missing))

    def _generate(self, template: Template, variables: Mapping[str, Any]) -> str:
        """Run the template chunk by chunk, refusing output beyond limits.max_output_bytes."""
        cap = self.limits.max_output_bytes
        # A str of n characters is at most 4n UTF-8 bytes: count characters (cheap) until that bound could
        # pass the cap, then count exact bytes.
        soft_cap = cap // 4
        chunks: list[str] = []
        append = chunks.append
        characters = 0
        stream = template.root_render_func(template.new_context(variables))
        try:
            for chunk in stream:
                append(chunk)
                characters += len(chunk)
                if characters > soft_cap:
                    break
            else:
                return "".join(chunks)
            size = sum(len(chunk.encode("utf-8", "surrogatepass")) for chunk in chunks)
            for chunk in stream:
                if size > cap:
                    break
                append(chunk)
                size += len(chunk.encode("utf-8", "surrogatepass"))
            if size > cap:
                raise TemplateError(f"The rendered output exceeds {cap} bytes.")
            return "".join(chunks)
        finally:
            stream.close()

    # -- compiling ----------------------------------------------------------------------------------------------

    def _lookup(self, source: str, cache_key: Hashable | None) -> Compiled:
        key = cache_key if cache_key is not None else (_SOURCE_KEY, _digest(source))
        compiled = self._cache.get(key)
        if compiled is None:
            compiled = self._compile(source)
            self._cache.put(key, compiled)
        return compiled

    def _parse(self, source: str) -> nodes.Template:
        self._check_size(source)
        cap = self.limits.max_nodes
        try:
            # Parsing is not interruptible and costs about 50 µs a token: count tokens (cheaper) before parsing.
            if sum(1 for _ in itertools.islice(self._env.lex(source), 2 * cap + 1)) > 2 * cap:
                raise TemplateError(f"The template is too complex: more than {cap} syntax elements.")
            tree = self._env.parse(source)
        except (RecursionError, MemoryError):
            raise TemplateError("The template is nested too deeply to parse.") from None
        if sum(1 for _ in itertools.islice(tree.find_all(nodes.Node), cap + 1)) > cap:
            raise TemplateError(f"The template is too complex: more than {cap} syntax elements.")
        return tree

    def _check_size(self, source: str) -> None:
        if not isinstance(source, str):
            raise TemplateError("A template source must be text.")
        cap = self.limits.max_source_bytes
        if len(source) > cap or (len(source) * 4 > cap and len(source.encode("utf-8", "surrogatepass")) > cap):
            raise TemplateError(f"The template is larger than {cap} bytes.")

    def _variables(self, tree: nodes.Template) -> frozenset[str]:
        return frozenset(meta.find_undeclared_variables(tree) - self._globals)

    def _compile(self, source: str) -> Compiled:
        """Parse, analyse, guard and compile a source. Raises only RenderError."""
        with template_errors():
            tree = self._parse(source)
            _reject_unsupported(tree)
            includes = tuple(_include_names(tree))
            variables = self._variables(tree)
            stores = frozenset(node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param"))
            # Constant folding at compile time runs filters and finalize: give it a guard with the engine's limits.
            token = CURRENT.set(Guard(self.limits))
            try:
                GuardTransformer(self._env).visit(tree)
                tree.set_environment(self._env)
                code = self._env.compile(tree)
                # A plain dict, not Jinja2's ChainMap: every render copies the globals into its context, and
                # copying a ChainMap (Python-level iteration) costs more than the rest of a short render.
                template = self._env.template_class.from_code(self._env, code, dict(self._env.globals), None)
            finally:
                CURRENT.reset(token)
        return Compiled(template, variables, stores, includes)

    def _include_graph(self, compiled: Compiled, includes: Mapping[str, str] | None) -> dict[str, Compiled]:
        """Compile (through the cache) every template the render can include, checking cycles and depth."""
        sources = includes or {}
        graph: dict[str, Compiled] = {}

        def children(name: str | None) -> list[str]:
            entry = compiled if name is None else graph[name]
            found = []
            for child, optional in entry.includes:
                if child not in graph:
                    body = sources.get(child)
                    if body is None:
                        if optional:
                            continue
                        raise _unknown_include(child, name)
                    graph[child] = self._lookup(body, None)
                found.append(child)
            return found

        walk_includes(children, self.limits.max_include_depth)
        return graph


# -- includes -----------------------------------------------------------------------------------------------------


def walk_includes(children: Callable[[str | None], list[str]], max_depth: int) -> None:
    """Walk the include graph from the root (None), raising TemplateError on a cycle or nesting past max_depth.

    Each template's height is memoised, so shared includes are walked once and the walk is linear in the graph.
    """
    heights: dict[str, int] = {}
    path: list[str] = []

    def too_deep(extra: list[str]) -> TemplateError:
        chain = " -> ".join([*path, *extra])
        return TemplateError(f"Includes are nested more than {max_depth} deep: {chain}.", {"include_path": path[:]})

    def visit(name: str) -> int:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise TemplateError(f"Include cycle: {' -> '.join(cycle)}.", {"cycle": cycle})
        height = heights.get(name)
        if height is None:
            if len(path) + 1 > max_depth:
                raise too_deep([name])
            path.append(name)
            try:
                height = max((1 + visit(child) for child in children(name)), default=0)
            finally:
                path.pop()
            heights[name] = height
        if len(path) + 1 + height > max_depth:
            raise too_deep([name, "..."])
        return height

    for child in children(None):
        visit(child)


def _include_names(tree: nodes.Template) -> list[tuple[str, bool]]:
    names = []
    for node in tree.find_all(nodes.Include):
        target = node.template
        if not (isinstance(target, nodes.Const) and isinstance(target.value, str)):
            raise TemplateError(
                f"Line {node.lineno}: an include must name its template as a constant string.", {"line": node.lineno}
            )
        names.append((target.value, bool(node.ignore_missing)))
    return names


def _reject_unsupported(tree: nodes.Template) -> None:
    """Refuse template inheritance and imports (only include is resolved and cached) and autoescape blocks.

    Prompts are plain text; autoescape would also be the only source of Markup strings, whose Python-level
    methods would sidestep the str-method checks.
    """
    for node in tree.find_all((nodes.Extends, nodes.Import, nodes.FromImport)):
        raise TemplateError(
            f"Line {node.lineno}: extends and import are not supported; use include.", {"line": node.lineno}
        )
    for node in tree.find_all(nodes.EvalContextModifier):
        raise TemplateError(
            f"Line {node.lineno}: autoescape blocks are not supported (prompts are plain text).", {"line": node.lineno}
        )


def _unknown_include(name: str, parent: str | None) -> TemplateError:
    where = f"Template {parent!r} includes {name!r}" if parent else f"The template includes {name!r}"
    return TemplateError(f"{where}, which does not exist.", {"include": name})


def _digest(source: str) -> bytes:
    return hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16).digest()


# -- errors -------------------------------------------------------------------------------------------------------


class _LoaderError(Exception):
    """Carries an exception raised by a caller's `load` through the engine's error conversion, unchanged."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


@contextmanager
def template_errors() -> Iterator[None]:
    """Turn whatever a template can cause into a RenderError (RenderErrors and loader errors pass through)."""
    try:
        yield
    except (RenderError, _LoaderError):
        raise
    except jinja_errors.TemplateSyntaxError as exc:
        raise syntax_error(exc) from None
    except (RecursionError, MemoryError, SyntaxError):
        # SyntaxError: CPython's own limits on the generated code (nesting, indentation).
        raise TemplateError("The template is nested too deeply or is too complex to compile.") from None
    except Exception as exc:
        raise convert(exc) from None


def syntax_error(exc: jinja_errors.TemplateSyntaxError) -> TemplateError:
    line = exc.lineno
    message = clean(exc.message or "invalid template")
    if isinstance(exc, jinja_errors.TemplateAssertionError):
        return TemplateError(f"Template error on line {line}: {message}", {"line": line})
    return TemplateError(f"Syntax error on line {line}: {message}", {"line": line})


_LABELS: tuple[tuple[type[BaseException], str], ...] = (
    (ZeroDivisionError, "Division by zero"),
    (TypeError, "Type error"),
    (ValueError, "Invalid value"),
    (KeyError, "Missing key"),
    (IndexError, "Index out of range"),
    (AttributeError, "Missing attribute"),
    (AssertionError, "Invalid argument"),
)


def convert(exc: BaseException) -> RenderError:
    """The RenderError for any exception a template can cause; the message never carries Python internals."""
    if isinstance(exc, RenderError):
        return exc
    if isinstance(exc, jinja_errors.TemplateSyntaxError):
        return syntax_error(exc)
    if isinstance(exc, jinja_errors.TemplateNotFound):
        return TemplateError(f"The included template {clean(str(exc.name))!r} was not provided.")
    if isinstance(exc, jinja_errors.SecurityError):
        return TemplateError(f"Not allowed in a template: {clean(str(exc))}")
    if isinstance(exc, jinja_errors.TemplateError):
        return TemplateError(clean(exc.message or "template error"))
    if isinstance(exc, RecursionError):
        return TemplateError("The template recurses too deeply.")
    if isinstance(exc, MemoryError):
        return TemplateError("The template needs too much memory.")
    if isinstance(exc, OverflowError):
        return TemplateError("A number in the template is too large.")
    for kind, label in _LABELS:
        if isinstance(exc, kind):
            detail = clean(str(exc))
            return TemplateError(f"{label}: {detail}" if detail else f"{label}.")
    return TemplateError("The template failed to render.")


_REPR = re.compile(r"<[^<>\n]{0,200}>")
_ADDRESS = re.compile(r"\s*at 0x[0-9a-fA-F]+")
_PATH = re.compile(r"(?:[A-Za-z]:)?[/\\][^\s'\"]*\.pyc?\b")
_PYTHON_HINT = re.compile(r";?\s*use sys\.\w+\(\)[^.]*")  # CPython's advice on its own limits
_MAX_MESSAGE = 300


def clean(message: str) -> str:
    """Strip object reprs, addresses and file paths from an exception message, and keep it short."""
    message = _PATH.sub("<file>", _ADDRESS.sub("", _REPR.sub("<object>", message)))
    message = _PYTHON_HINT.sub("", message)
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
