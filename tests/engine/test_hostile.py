"""Hostile templates: each ends in a RenderError (or harmless text) within a second, and nothing internal leaks.

Every case is rendered by the default engine with the same variables and includes. A case either names the exact
harmless text it must render, or must raise; either way the test fails if the render takes a second or more,
raises anything but a RenderError subclass, or lets Python internals (reprs, addresses, paths) reach the caller.
"""

import re
import time

import pytest

from promptconfig_client.engine import Engine, RenderError, TemplateError

VARIABLES = {"x": "hello", "l": [1, 2, 3], "d": {"k": "v"}, "n": 5, "big": "a" * 100_000}
INCLUDES = {"self": "{% include 'self' %}", "ping": "{% include 'pong' %}", "pong": "{% include 'ping' %}"}

# Signs of leaked internals in an error message or in rendered output.
LEAKS = re.compile(
    r"<class|<function|<built-in|<bound|<method|<module|<jinja2|<generator|<Namespace|<Cycler|<Macro"
    r"| at 0x|Traceback|File \"|\.py\b|site-packages|\bos\.|subprocess|sys\.modules|builtins|\{'__name__'"
)

RAISES = object()  # the case must raise a RenderError
EITHER = object()  # a RenderError or any output without leaks

NESTED_RANGES = "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}" + (
    "{% endfor %}" * 3
)

HOSTILE = [
    # Escapes through attributes, globals and formatting.
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", RAISES),
    ("{{ cycler.__init__.__globals__ }}", RAISES),
    ("{{ joiner.__init__.__globals__.os }}", RAISES),
    ("{{ namespace.__init__.__globals__ }}", RAISES),
    ("{{ self._TemplateReference__context }}", RAISES),
    ("{{ self.__init__.__globals__ }}", RAISES),
    ("{{ self.__dict__ }}", RAISES),
    ("{{ lipsum.__globals__ }}", RAISES),
    ("{{ range.__self__ }}", RAISES),
    ("{{ range.__globals__ }}", RAISES),
    ("{{ ''|attr('__class__') }}", RAISES),
    ('{{ "{0.__class__}".format(1) }}', RAISES),
    ('{{ "{0:>999999999}".format(1) }}', RAISES),
    ('{{ "%s"|format(x) }}', RAISES),
    ("{{ '{0.__class__.__mro__}'.format_map }}", RAISES),
    ("{{ '{0.__class__.__mro__}'.format_map(d) }}", RAISES),
    ("{{ request }}", RAISES),
    ("{{ settings }}", RAISES),
    ("{{ config }}", RAISES),
    ("{{ environment }}", RAISES),
    ("{{ x.__class__ }}", RAISES),
    ("{{ x.mro() }}", RAISES),
    ("{{ x.__len__() }}", RAISES),
    ("{{ ().__class__.__base__ }}", RAISES),
    ("{{ [].__class__.__base__.__subclasses__() }}", RAISES),
    ("{% set dd = dict(a=1) %}{{ dd.__class__.__subclasses__() }}", RAISES),
    ("{{ [].pop() }}", RAISES),
    ("{{ {}.update(a=1) }}", RAISES),
    ("{{ l.append(1) }}", RAISES),
    ("{{ d.clear() }}", RAISES),
    ("{{ {}.fromkeys(range(100), big) }}", RAISES),
    ("{{ (1).to_bytes(10**9, 'big') }}", RAISES),
    ("{{ x.encode('utf-8') }}", RAISES),
    ("{% for i in [1] %}{{ loop.__class__ }}{% endfor %}", RAISES),
    ("{{ dict.__call__ }}", RAISES),
    ("{{ dict(__builtins__=1) }}", "{'__builtins__': 1}"),
    ("{{ caller }}", RAISES),
    # Printing things that are not data.
    ("{{ cycler }}", RAISES),
    ("{{ x.upper }}", RAISES),
    ("{{ 'a'.upper }}", RAISES),
    ("{{ namespace() }}", RAISES),
    ("{{ range(3)|map('upper') }}", RAISES),
    ("{{ [cycler, joiner] }}", RAISES),
    ("{% macro m() %}{% endmacro %}{{ m }}", RAISES),
    ("{{ cycler ~ '' }}", RAISES),
    ("{{ joiner|string }}", RAISES),
    ("{{ cycler|upper }}", RAISES),
    ("{{ [joiner]|join }}", RAISES),
    # Format-string tricks.
    ("{{ '%s' % l }}", RAISES),
    ("{{ '%999999999d' % 1 }}", RAISES),
    ("{{ ('%' ~ 's')|replace('s', 'd') % 1 }}", RAISES),
    ("{{ '{0.__class__}'|replace('0', '1') }}", "{1.__class__}"),
    # Memory: repetition, concatenation, padding.
    ("{{ 'a'*10**9 }}", RAISES),
    ("{{ 'a'*(1024*1024) }}", RAISES),
    ("{{ [1]*10**9 }}", RAISES),
    ("{{ ((1,)*100)*100*100*100 }}", RAISES),
    ("{{ (range(10000)|list) * 10000 }}", RAISES),
    ("{{ big * 100 }}", RAISES),
    ("{{ [big] * 100 }}", RAISES),
    ("{{ 'ß' * 400000 }}", RAISES),
    ("{% set x = 'a' %}{% for i in range(30) %}{% set x = x ~ x %}{% endfor %}{{ x }}", EITHER),
    (
        "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        RAISES,
    ),
    (
        "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
        RAISES,
    ),
    (
        "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l }}",
        RAISES,
    ),
    (
        "{% set ns = namespace(l=[x]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
        RAISES,
    ),
    ("{% set a = [big, big] %}{% set b = [a, a, a, a] %}{% set c = [b, b, b, b] %}{{ c == c }}", RAISES),
    ("{% set c = cycler(big, big, big, big, big, big, big, big, big, big, big) %}{{ c.next() }}", RAISES),
    ("{{ 'a'|center(10**9) }}", RAISES),
    ("{{ 'a\nb'|indent(10**9) }}", RAISES),
    ("{{ big|indent('x' * 1000) }}", EITHER),
    ("{{ ('a ' * 1000)|wordwrap(1, wrapstring='x' * 10000) }}", RAISES),
    ("{{ x|wordwrap(10**9) }}", "hello"),
    ("{{ 'abc'|truncate(10**18) }}", "abc"),
    ("{{ x.ljust(10**9) }}", RAISES),
    ("{{ x.zfill(10**9) }}", RAISES),
    ("{{ 'ab'.replace('', 'x' * 500000) }}", RAISES),
    ("{{ big|replace('a', big) }}", RAISES),
    ("{{ ('x' * 100000).join(range(10000)|map('string')|list) }}", RAISES),
    ("{{ range(10000)|map('string')|join(big) }}", RAISES),
    ("{{ [1]|batch(10**9, 'x')|list }}", RAISES),
    ("{{ [1]|slice(10**9)|list }}", RAISES),
    ("{{ [[1]]|sum(start=[]) }}", RAISES),
    ("{{ d|tojson(indent=10**6) }}", RAISES),
    ("{{ big|list|string|list|string }}", RAISES),
    ("{% for i in range(1000) %}{{ range(10000)|list|join }}{% endfor %}", RAISES),
    ("{% macro m() %}{% for i in range(10000) %}{{ big }}{% endfor %}{% endmacro %}{{ m() }}", RAISES),
    ("{% set s %}{% for i in range(10000) %}{{ big }}{% endfor %}{% endset %}{{ s|length }}", RAISES),
    # CPU: big numbers, loops, recursion, builtins with super-linear corners.
    ("{{ n|round(-10**7) }}", RAISES),
    ("{{ n|round(10**7, 'ceil') }}", RAISES),
    ("{{ l|map('round', -10**7)|list }}", RAISES),
    ("{{ big.strip('b' * 200000 ~ 'a')|length }}", "0"),
    ("{{ big|trim('b' * 200000 ~ 'a')|length }}", "0"),
    ("{{ big|wordwrap(1) }}", RAISES),
    ("{{ (big ~ ' ' ~ big)|wordwrap(2) }}", RAISES),
    ("{{ ('1' * 60000)|int(base=2) // 3 }}", RAISES),
    ("{{ x|center(10**9)|length }}", RAISES),
    ("{{ l|map('center', 10**9)|list }}", RAISES),
    ("{{ 9**(9**9) }}", RAISES),
    ("{{ 2**100000 }}", RAISES),
    ("{{ (10**4000) * (10**4000) }}", RAISES),
    ("{{ 10.0 ** 400 }}", RAISES),
    ("{% set ns = namespace(n=3) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}", RAISES),
    ("{% for i in range(10**9) %}{% endfor %}", RAISES),
    ("{{ range(10**9)|sum }}", RAISES),
    (NESTED_RANGES, RAISES),
    ("{% for i in 'x'*50000 %}{% for j in 'x'*50000 %}{% endfor %}{% endfor %}", RAISES),
    ("{% for i in big %}{% for j in big %}{{ '' }}{% endfor %}{% endfor %}", RAISES),
    ("{% for i in range(10000) recursive %}{{ loop(range(10000)) }}{% endfor %}", RAISES),
    ("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", RAISES),
    ("{% macro m(n) %}{{ m(n) ~ m(n) }}{% endmacro %}{{ m(1) }}", RAISES),
    ("{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}{{ m() }}{% endcall %}", RAISES),
    ("{% for i in range(10000) %}{{ big in big ~ big }}{% endfor %}", RAISES),
    ("{% for i in range(10000) %}{{ big|sort|join|length }}{% endfor %}", RAISES),
    # Includes.
    ("{% include 'self' %}", RAISES),
    ("{% include 'ping' %}", RAISES),
    ("{% include 'nowhere' %}", RAISES),
    ("{% include x %}", RAISES),
    ("{% extends 'self' %}", RAISES),
    ("{% autoescape true %}{{ x }}{% endautoescape %}", RAISES),
    ("{% import 'self' as m %}", RAISES),
    # The parser and the compiler.
    ("{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}", RAISES),
    ("{{ " + "-(" * 2000 + "1" + ")" * 2000 + " }}", RAISES),
    ("{{ " + "[" * 1000 + "1" + "]" * 1000 + " }}", RAISES),
    ("{{ x" + "|upper" * 5000 + " }}", RAISES),
    ("{% for i in [1] %}" * 30 + "{% endfor %}" * 30, RAISES),
    ("{% if 1 %}" * 500 + "{% endif %}" * 500, EITHER),
    ("{{" * 30000, RAISES),
    ("{%" * 30000, RAISES),
    ("{#" + "x" * 60000, RAISES),
    ("{{ '" + "\\\\" * 30000 + "' }}", EITHER),
    ("x" * (64 * 1024 + 1), RAISES),
]


def _id(case: tuple[str, object]) -> str:
    return re.sub(r"\s+", " ", case[0])[:60]


def _render(engine: Engine, source: str) -> tuple[str | None, RenderError | None, float]:
    started = time.monotonic()
    try:
        output = engine.render(source, VARIABLES, includes=INCLUDES)
    except RenderError as exc:
        return None, exc, time.monotonic() - started
    return output, None, time.monotonic() - started


def test_there_are_at_least_forty_cases() -> None:
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize(("source", "expected"), HOSTILE, ids=[_id(case) for case in HOSTILE])
def test_hostile_template(source: str, expected: object) -> None:
    engine = Engine()  # a fresh cache: every case compiles, so compilation is bounded too
    output, error, elapsed = _render(engine, source)
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    if error is not None:
        assert expected is RAISES or expected is EITHER, f"unexpected error: {error.message}"
        assert error.message
        assert not LEAKS.search(error.message), error.message
        assert not LEAKS.search(repr(error.details)), error.details
    else:
        assert expected is not RAISES, f"rendered {output[:200]!r}"
        if isinstance(expected, str):
            assert output == expected
        else:
            assert not LEAKS.search(output), output[:300]


def test_compiling_hostile_sources_is_bounded_too() -> None:
    engine = Engine()
    for source, _ in HOSTILE:
        started = time.monotonic()
        try:
            engine.check_source(source)
            engine.variables(source)
            engine.includes(source)
        except TemplateError as exc:
            assert not LEAKS.search(exc.message), exc.message
        assert time.monotonic() - started < 1.0, source[:80]


def test_guards_of_one_render_do_not_leak_into_the_next() -> None:
    engine = Engine()
    for source, _ in HOSTILE[:20]:
        _render(engine, source)
    assert engine.render("{% for i in range(10000) %}{% endfor %}ok", {}) == "ok"
