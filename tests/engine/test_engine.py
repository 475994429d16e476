"""The rendering engine (promptconfig_client.engine): filters, analysis, includes, variables, caching, limits."""

import threading
import time

import jinja2
import pytest

from promptconfig_client.engine import (
    DEFAULT_ENGINE,
    FILTERS,
    Engine,
    InvalidVariables,
    Limits,
    MissingVariables,
    RenderError,
    TemplateError,
)

SEED = (
    "You are an expert educational content creator specializing in visual learning. Create engaging content "
    "about {{ topic }} for {{ difficulty|format_difficulty }} students with a {{ learning_style }} learning "
    "preference.{% if additional_context is defined %} {{ additional_context }}{% endif %}"
)
SEED_VARIABLES = {"topic": "photosynthesis", "difficulty": "beginner", "learning_style": "visual"}


@pytest.fixture
def engine() -> Engine:
    return Engine()


def render(source: str, variables: dict | None = None, **kwargs) -> str:
    return Engine().render(source, variables or {}, **kwargs)


# -- filters --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("beginner", "introductory level suitable for newcomers"),
        ("intermediate", "intermediate level for those with basic knowledge"),
        ("advanced", "advanced level for experienced learners"),
        ("expert", "expert"),
    ],
)
def test_format_difficulty_uses_the_seed_texts(value: str, text: str) -> None:
    assert FILTERS["format_difficulty"](value) == text
    assert render("{{ d|format_difficulty }}", {"d": value}) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("visual", "visual learners who benefit from diagrams, charts, and visual examples"),
        ("auditory", "auditory learners who prefer spoken explanations and discussions"),
        ("kinesthetic", "kinesthetic learners who learn through hands-on activities and practical examples"),
        ("reading", "reading/writing learners who prefer text-based explanations and written materials"),
        ("olfactory", "olfactory"),
    ],
)
def test_format_learning_style_uses_the_seed_texts(value: str, text: str) -> None:
    assert FILTERS["format_learning_style"](value) == text
    assert render("{{ s|format_learning_style }}", {"s": value}) == text


@pytest.mark.parametrize(
    ("preference", "suffix"),
    [
        ("practical", "\n\nInclude practical, real-world examples that demonstrate the concepts in action."),
        ("theoretical", "\n\nFocus on theoretical foundations and mathematical derivations."),
        ("balanced", "\n\nProvide a balanced mix of theoretical concepts and practical examples."),
        ("", "\n\nProvide a balanced mix of theoretical concepts and practical examples."),
    ],
)
def test_add_examples_appends_the_seed_texts(preference: str, suffix: str) -> None:
    assert FILTERS["add_examples"]("Body", preference) == "Body" + suffix
    assert render("{{ 'Body'|add_examples(p) }}", {"p": preference}) == "Body" + suffix


def test_filters_export_is_the_custom_filters() -> None:
    assert set(FILTERS) == {"format_difficulty", "format_learning_style", "add_examples"}


def test_seed_template_renders(engine: Engine) -> None:
    assert engine.render(SEED, SEED_VARIABLES) == (
        "You are an expert educational content creator specializing in visual learning. Create engaging content "
        "about photosynthesis for introductory level suitable for newcomers students with a visual learning "
        "preference."
    )


@pytest.mark.parametrize("name", ["attr", "format", "xmlattr", "urlize", "pprint", "random", "safe", "e"])
def test_dangerous_or_nondeterministic_filters_are_not_available(name: str) -> None:
    with pytest.raises(TemplateError, match=f"No filter named '{name}'"):
        render("{{ x|" + name + " }}", {"x": "a"})


# Ordinary templates render byte-for-byte as plain Jinja2 would render them.
COMPATIBLE = [
    "Plain text with a trailing newline\n",
    "{{ topic|upper }} {{ topic|title }} {{ topic|capitalize }} {{ topic|length }}",
    "{% for i in items %}{{ loop.index }}. {{ i.name }} ({{ i.n }}){% if not loop.last %}, {% endif %}{% endfor %}",
    "{{ nums|sort|join(', ') }} {{ nums|sum }} {{ nums|min }} {{ nums|max }} {{ nums|first }} {{ nums|last }}",
    "{{ d }} {{ d|dictsort }} {{ d.y }} {{ d['x'] }} {{ d|tojson }} {{ items|map(attribute='name')|list }}",
    "{% macro m(a, b='x') %}[{{ a }}|{{ b }}|{{ varargs }}]{% endmacro %}{{ m(1) }}{{ m(2, 3, 4) }}",
    "{% set x = topic ~ '!' %}{{ x }} {{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }}",
    "{%- if flag -%}  yes  {%- else -%} no {%- endif -%}",
    "{{ none }} {{ f }} {{ flag }} {{ [1, 'a', none] }} {{ (1, 2) }} {{ {'k': 'v'} }} {{ topic ~ 1 ~ none }}",
    "{% set ns = namespace(c=0) %}{% for i in range(5) %}{% set ns.c = ns.c + i %}{% endfor %}{{ ns.c }}",
    "{{ text|wordwrap(10) }}|{{ text|truncate(20) }}|{{ text|wordcount }}|{{ text|replace('o', '0') }}",
    "{{ text|indent(2, true) }}|{{ '  x '|trim }}|{{ nums|reverse|list }}|{{ text|center(70) }}",
    "{{ nums|batch(2)|list }} {{ nums|slice(2)|list }} {{ nums|unique|list }} {{ nums|select('odd')|list }}",
    "{{ items|selectattr('n', 'gt', 1)|map(attribute='name')|join }} {{ '3'|int + 1 }} {{ 2.567|round(1) }}",
    "{{ missing|default('fallback') }} {{ topic.upper() }} {{ topic.split('o') }} {{ ', '.join(['a', 'b']) }}",
    "{{ 'a' in topic }} {{ 1 in nums }} {{ nums == [3, 1, 2] }} {{ topic is string }} {{ 3 is divisibleby 3 }}",
    "{% for i in range(10) if i is even %}{{ i }}{{ loop.length }}{% endfor %} {{ range(1, 10, 3)|list }}",
    "{% set c = cycler('a', 'b') %}{% for i in range(3) %}{{ c.next() }}{% endfor %}{{ dict(a=1) }}",
    "{% filter upper %}inside {{ topic }}{% endfilter %} {% set b %}captured {{ topic }}{% endset %}{{ b }}",
    "{% macro outer() %}<{{ caller() }}>{% endmacro %}{% call outer() %}called {{ topic }}{% endcall %}",
    "{% for x in [[1, [2]], [3]] recursive %}({% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %})"
    "{% endfor %}",
    "{{ 'ü€😀' * 3 }} {{ topic[:3] }} {{ nums[1:] }} {{ [1, 2] + [3] }} {{ (1,) * 3 }} {{ 'ab' + 'cd' }}",
    "{{ 'Create questions about ' ~ topic ~ '.' | add_examples('practical') }}\nReturn.\n",
]
COMPATIBLE_VARIABLES = {
    "topic": "photosynthesis",
    "items": [{"name": "a", "n": 3}, {"name": "b", "n": 1}],
    "nums": [3, 1, 2],
    "d": {"x": 1, "y": [1, 2]},
    "flag": True,
    "none": None,
    "f": 1.5,
    "text": "Hello wide World  with   spaces and a-hyphenated-word",
}


@pytest.mark.parametrize("source", COMPATIBLE)
def test_renders_like_plain_jinja2(engine: Engine, source: str) -> None:
    plain = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    plain.filters.update(FILTERS)
    assert engine.render(source, COMPATIBLE_VARIABLES) == plain.from_string(source).render(COMPATIBLE_VARIABLES)


# -- variables() ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "names"),
    [
        (SEED, ["additional_context", "difficulty", "learning_style", "topic"]),
        ("{% for item in items %}{{ item.name }}{{ loop.index }}{{ sep }}{% endfor %}", ["items", "sep"]),
        ("{% set x = 1 %}{{ x }}{{ y }}", ["y"]),
        ("{% macro m(a, b=c) %}{{ a }}{{ b }}{{ d }}{% endmacro %}{{ m(e) }}", ["c", "d", "e"]),
        ("{% set ns = namespace(n=0) %}{{ range(3)|list }}{{ dict(a=1) }}{{ cycler(1).next() }}{{ ns.n }}", []),
        ("{{ lipsum() }}", ["lipsum"]),  # not a global here: it would be a variable
        ("{% if z is defined %}{{ z }}{% endif %}{{ a|default(b) }}", ["a", "b", "z"]),
        ("{% with q = r %}{{ q }}{% endwith %}", ["r"]),
        ("Just text", []),
    ],
)
def test_variables_come_from_the_ast(engine: Engine, source: str, names: list[str]) -> None:
    assert engine.variables(source) == names


def test_variables_syntax_error(engine: Engine) -> None:
    with pytest.raises(TemplateError) as error:
        engine.variables("line one\n{{ x }")
    assert error.value.details == {"line": 2}


# -- check_source ---------------------------------------------------------------------------------------------


def test_check_source_accepts_a_good_template(engine: Engine) -> None:
    engine.check_source(SEED)


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("{{ x }", 1),
        ("first\nsecond\n{% for %}", 3),
        ("{% if x %}\n{% endfor %}", 2),
        ("ok\n{{ x|no_such_filter }}", 2),
    ],
)
def test_check_source_names_the_line_of_a_syntax_error(engine: Engine, source: str, line: int) -> None:
    with pytest.raises(TemplateError) as error:
        engine.check_source(source)
    assert error.value.code == "template_error"
    assert error.value.details == {"line": line}
    assert f"line {line}" in error.value.message


@pytest.mark.parametrize(
    "source",
    ["{% include name %}", "{% include ['a', 'b'] %}", "{% include 'a' ~ x %}", "{% extends 'base' %}",
     "{% import 'macros' as m %}", "{% from 'macros' import m %}"],
)  # fmt: skip
def test_check_source_refuses_dynamic_includes_and_inheritance(engine: Engine, source: str) -> None:
    with pytest.raises(TemplateError):
        engine.check_source(source)


def test_check_source_refuses_a_large_source() -> None:
    engine = Engine(Limits(max_source_bytes=100))
    engine.check_source("x" * 100)
    with pytest.raises(TemplateError, match="larger than 100 bytes"):
        engine.check_source("x" * 101)
    with pytest.raises(TemplateError, match="larger than 100 bytes"):
        engine.check_source("€" * 34)  # 34 characters, 102 UTF-8 bytes
    with pytest.raises(TemplateError, match="larger than 100 bytes"):
        engine.render("x" * 101, {})


def test_constant_folding_cannot_hang_compilation(engine: Engine) -> None:
    started = time.monotonic()
    engine.check_source("{{ 9**(9**9) }}{{ 'a'|center(10**9) }}{{ 'a' * 10**9 }}{{ [1] * 10**9 }}")
    assert time.monotonic() - started < 0.5


# -- includes -------------------------------------------------------------------------------------------------


def test_includes_lists_constant_names(engine: Engine) -> None:
    source = "{% include 'b' %}{% include 'a' %}{% if x %}{% include 'b' %}{% endif %}{% include 'c' ignore missing %}"
    assert engine.includes(source) == ["a", "b", "c"]
    assert engine.includes("no includes") == []


def test_includes_refuses_a_dynamic_name(engine: Engine) -> None:
    with pytest.raises(TemplateError, match="constant string"):
        engine.includes("{% include name %}")


def _loader(templates: dict[str, str], calls: list[str] | None = None):
    def load(name: str) -> str | None:
        if calls is not None:
            calls.append(name)
        return templates.get(name)

    return load


def test_resolve_includes_is_transitive(engine: Engine) -> None:
    templates = {"a": "A{% include 'b' %}{% include 'c' %}", "b": "B{% include 'c' %}", "c": "C", "unused": "U"}
    calls: list[str] = []
    assert engine.resolve_includes("{% include 'a' %}", _loader(templates, calls)) == {
        "a": templates["a"],
        "b": templates["b"],
        "c": "C",
    }
    assert sorted(calls) == ["a", "b", "c"]  # each template loaded once, even when reached twice


def test_resolve_includes_without_includes(engine: Engine) -> None:
    assert engine.resolve_includes("plain", _loader({})) == {}


def test_resolve_includes_cycle(engine: Engine) -> None:
    templates = {"a": "{% include 'b' %}", "b": "{% include 'a' %}"}
    with pytest.raises(TemplateError, match="cycle: a -> b -> a") as error:
        engine.resolve_includes("{% include 'a' %}", _loader(templates))
    assert error.value.details == {"cycle": ["a", "b", "a"]}


def test_resolve_includes_self_include(engine: Engine) -> None:
    # The server resolves a body being saved under its own key, so a template including itself is a cycle.
    with pytest.raises(TemplateError, match="cycle: page -> page"):
        engine.resolve_includes("{% include 'page' %}", _loader({"page": "{% include 'page' %}"}))


def _chain(length: int) -> dict[str, str]:
    """t1 includes t2 ... t<length> includes nothing."""
    return {f"t{n}": (f"{{% include 't{n + 1}' %}}" if n < length else "end") for n in range(1, length + 1)}


def test_resolve_includes_depth_five_works_and_six_fails(engine: Engine) -> None:
    assert engine.limits.max_include_depth == 5
    assert len(engine.resolve_includes("{% include 't1' %}", _loader(_chain(5)))) == 5
    with pytest.raises(TemplateError, match="nested more than 5 deep"):
        engine.resolve_includes("{% include 't1' %}", _loader(_chain(6)))


def test_resolve_includes_depth_counts_every_path(engine: Engine) -> None:
    # t1..t5 is fine reached directly (t5 at depth 5), but through 'mid' t5 sits at depth 6. The walk memoises
    # each template's height, so the second path must still be checked.
    templates = {**_chain(5), "mid": "{% include 't1' %}"}
    with pytest.raises(TemplateError, match="nested more than 5 deep"):
        engine.resolve_includes("{% include 't1' %}{% include 'mid' %}", _loader(templates))


def test_resolve_includes_unknown_template_is_named(engine: Engine) -> None:
    with pytest.raises(TemplateError, match="'a' includes 'ghost', which does not exist") as error:
        engine.resolve_includes("{% include 'a' %}", _loader({"a": "{% include 'ghost' %}"}))
    assert error.value.details == {"include": "ghost"}


def test_resolve_includes_skips_missing_optional_includes(engine: Engine) -> None:
    assert engine.resolve_includes("{% include 'ghost' ignore missing %}", _loader({})) == {}


def test_resolve_includes_reports_a_broken_included_template(engine: Engine) -> None:
    with pytest.raises(TemplateError, match="Included template 'a': Syntax error on line 1"):
        engine.resolve_includes("{% include 'a' %}", _loader({"a": "{{ x }"}))


def test_resolve_includes_lets_loader_errors_through(engine: Engine) -> None:
    def load(name: str) -> str | None:
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        engine.resolve_includes("{% include 'a' %}", load)


def test_render_with_nested_includes(engine: Engine) -> None:
    includes = {"header": "[{{ title }}{% include 'footer' %}]", "footer": "({{ author }})"}
    source = "{% include 'header' %} body {% set author = 'me' %}{% include 'footer' %}"
    assert engine.render(source, {"title": "T", "author": "A"}, includes=includes) == "[T(A)] body (me)"


def test_render_include_sees_loop_variables(engine: Engine) -> None:
    source = "{% for item in items %}{% include 'row' %}{% endfor %}"
    assert engine.render(source, {"items": [1, 2]}, includes={"row": "<{{ item }}>"}) == "<1><2>"


def test_render_missing_include_is_a_template_error(engine: Engine) -> None:
    with pytest.raises(TemplateError, match="includes 'row', which does not exist"):
        engine.render("{% include 'row' %}", {}, includes={})
    with pytest.raises(TemplateError, match="includes 'row'"):
        engine.render("{% include 'row' %}", {})
    assert engine.render("{% include 'row' ignore missing %}ok", {}) == "ok"


def test_render_refuses_cyclic_or_deep_includes(engine: Engine) -> None:
    with pytest.raises(TemplateError, match="cycle"):
        engine.render("{% include 'a' %}", {}, includes={"a": "{% include 'a' %}"})
    with pytest.raises(TemplateError, match="nested more than 5 deep"):
        engine.render("{% include 't1' %}", {}, includes=_chain(6))
    assert engine.render("{% include 't1' %}", {}, includes=_chain(5)) == "end"


# -- missing variables ----------------------------------------------------------------------------------------


def test_missing_variables_lists_every_missing_name(engine: Engine) -> None:
    with pytest.raises(MissingVariables) as error:
        engine.render(SEED, {"topic": "x"})
    # additional_context is optional (behind `is defined`): a caller must not be told to supply it
    assert error.value.missing == ["difficulty", "learning_style"]
    assert error.value.code == "missing_variables"
    assert error.value.details == {"missing": ["difficulty", "learning_style"]}
    assert "difficulty" in error.value.message


def test_missing_variables_behind_a_condition_on_a_missing_one_are_listed(engine: Engine) -> None:
    with pytest.raises(MissingVariables) as error:
        engine.render("{% if mode %}{{ detail }}{% endif %}{{ x|default('') }}", {})
    assert error.value.missing == ["detail", "mode"]


def test_missing_variables_include_names_read_by_includes(engine: Engine) -> None:
    includes = {"a": "{{ a_var }}{% include 'b' %}", "b": "{{ b_var }}{{ shared }}"}
    with pytest.raises(MissingVariables) as error:
        engine.render("{{ top }}{% set shared = 1 %}{% include 'a' %}", {"a_var": 1}, includes=includes)
    assert error.value.missing == ["b_var", "top"]


def test_is_defined_guard_renders_without_the_variable(engine: Engine) -> None:
    source = "{% if extra is defined %}[{{ extra }}]{% endif %}{{ note|default('none') }}"
    assert engine.render(source, {}) == "none"
    assert engine.render(source, {"extra": "x"}) == "[x]none"
    assert engine.render(SEED, SEED_VARIABLES).endswith("preference.")


def test_missing_attribute_is_a_template_error_not_missing_variables(engine: Engine) -> None:
    with pytest.raises(TemplateError, match="has no attribute 'name'"):
        engine.render("{{ user.name }}", {"user": {}})


# -- schema ---------------------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "minLength": 3},
        "difficulty": {"enum": ["beginner", "intermediate", "advanced"]},
        "count": {"type": "integer", "maximum": 10},
    },
    "required": ["topic", "difficulty"],
    "additionalProperties": False,
}


def test_schema_valid_variables_render(engine: Engine) -> None:
    assert engine.render("{{ topic }}", {"topic": "maths", "difficulty": "beginner"}, schema=SCHEMA) == "maths"
    engine.validate_variables({"topic": "maths", "difficulty": "advanced", "count": 3}, SCHEMA)
    engine.validate_variables({"anything": object()}, None)


def test_schema_errors_per_variable(engine: Engine) -> None:
    with pytest.raises(InvalidVariables) as error:
        engine.render("{{ topic }}", {"topic": "x", "difficulty": "expert", "count": 11, "extra": 1}, schema=SCHEMA)
    details = error.value.details
    assert error.value.code == "invalid_variables"
    assert set(details) == {"topic", "difficulty", "count", "$"}
    assert "too short" in details["topic"][0]
    assert "is not one of" in details["difficulty"][0]
    assert "maximum" in details["count"][0]
    assert "extra" in details["$"][0]


def test_schema_missing_required_variables_are_keyed_by_name(engine: Engine) -> None:
    with pytest.raises(InvalidVariables) as error:
        engine.validate_variables({}, SCHEMA)
    assert set(error.value.details) == {"topic", "difficulty"}
    assert error.value.details["topic"] == ["'topic' is a required property"]


def test_schema_whole_object_errors_use_dollar(engine: Engine) -> None:
    with pytest.raises(InvalidVariables) as error:
        engine.validate_variables({"a": 1}, {"type": "object", "maxProperties": 0})
    assert list(error.value.details) == ["$"]


@pytest.mark.parametrize(
    "schema",
    [{"type": "no-such-type"}, {"properties": {"a": {"minLength": -1}}}, {"required": "topic"}, ["not", "a", "dict"]],
)
def test_invalid_schema_is_a_template_error(engine: Engine, schema) -> None:
    with pytest.raises(TemplateError) as error:
        engine.check_schema(schema)
    assert "schema" in error.value.details
    with pytest.raises(TemplateError):
        engine.validate_variables({}, schema)
    with pytest.raises(TemplateError):
        engine.render("x", {}, schema=schema)


def test_check_schema_accepts_none_and_valid_schemas(engine: Engine) -> None:
    engine.check_schema(None)
    engine.check_schema(SCHEMA)


def test_schema_with_unresolvable_ref_is_a_template_error(engine: Engine) -> None:
    schema = {"properties": {"a": {"$ref": "https://example.invalid/schema.json"}}}
    with pytest.raises(TemplateError, match=r"\$ref at properties/a points outside the schema"):
        engine.check_schema(schema)  # refused before it is saved: nothing is ever fetched
    with pytest.raises(TemplateError, match="points outside the schema"):  # one saved before that check
        engine.validate_variables({"a": 1}, schema)


def test_variables_must_be_json_data(engine: Engine) -> None:
    with pytest.raises(InvalidVariables) as error:
        engine.render("{{ f }}", {"f": print, "ok": [1, {"a": None}]})
    assert list(error.value.details) == ["f"]
    with pytest.raises(InvalidVariables):
        engine.render("{{ x }}", {"x": {"nested": [object()]}})
    with pytest.raises(InvalidVariables):
        engine.render("{{ x }}", {"x": {1: "non-string key"}})


# -- caching --------------------------------------------------------------------------------------------------


def test_cache_key_reuses_the_compiled_template() -> None:
    engine = Engine()
    assert engine.render("Hi {{ name }}", {"name": "a"}, cache_key=("version", 1)) == "Hi a"
    assert engine.render("Hi {{ name }}", {"name": "b"}, cache_key=("version", 1)) == "Hi b"
    info = engine.cache_info()
    assert (info.misses, info.hits, info.currsize) == (1, 1, 1)
    # The key names an immutable source: the cached compile is used, the source is not even looked at.
    assert engine.render("something else", {"name": "c"}, cache_key=("version", 1)) == "Hi c"


def test_without_a_key_the_source_digest_is_the_key() -> None:
    engine = Engine()
    engine.render("Hi {{ name }}", {"name": "a"})
    engine.render("Hi {{ name }}", {"name": "b"})
    engine.render("Bye {{ name }}", {"name": "c"})
    info = engine.cache_info()
    assert (info.misses, info.hits, info.currsize) == (2, 1, 2)


def test_cache_is_lru_bounded() -> None:
    engine = Engine(compiled_cache_size=2)
    engine.render("a", {}, cache_key=1)
    engine.render("b", {}, cache_key=2)
    engine.render("a", {}, cache_key=1)  # 1 is now the most recently used
    engine.render("c", {}, cache_key=3)  # evicts 2
    assert engine.cache_info().currsize == 2
    assert engine.render("a", {}, cache_key=1) == "a"
    assert engine.render("b again", {}, cache_key=2) == "b again"  # recompiled
    assert engine.cache_info().misses == 4


def test_includes_are_compiled_once_through_the_cache() -> None:
    engine = Engine()
    includes = {"part": "({{ x }})"}
    for value in range(3):
        assert engine.render("{% include 'part' %}", {"x": value}, includes=includes, cache_key=1) == f"({value})"
    assert engine.cache_info().misses == 2  # the body and its include, each compiled once


# -- limits ---------------------------------------------------------------------------------------------------


def test_output_cap() -> None:
    engine = Engine(Limits(max_output_bytes=1000))
    assert len(engine.render("{% for i in range(100) %}0123456789{% endfor %}", {})) == 1000
    with pytest.raises(TemplateError, match="output exceeds 1000 bytes"):
        engine.render("{% for i in range(101) %}0123456789{% endfor %}", {})


def test_output_cap_counts_utf8_bytes() -> None:
    engine = Engine(Limits(max_output_bytes=1000))
    assert engine.render("{{ '€' * 333 }}", {}) == "€" * 333  # 999 bytes
    with pytest.raises(TemplateError, match="output exceeds 1000 bytes"):
        engine.render("{{ '€' * 334 }}", {})  # 334 characters, 1002 bytes


def test_time_budget() -> None:
    engine = Engine(Limits(time_budget_ms=50, max_calls=10**12))
    source = "{% for i in range(10000) %}{% for j in range(10000) %}{% set q = j * 2 %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(TemplateError, match="time budget of 50 ms"):
        engine.render(source, {})
    assert time.monotonic() - started < 0.5


def test_operations_budget() -> None:
    engine = Engine(Limits(max_calls=1000))
    assert engine.render("{% for i in range(900) %}{% endfor %}done", {}) == "done"
    with pytest.raises(TemplateError, match="more than 1000 operations"):
        engine.render("{% for i in range(10) %}{% for j in range(100) %}{{ j|string }}{% endfor %}{% endfor %}", {})


def test_range_cap() -> None:
    engine = Engine(Limits(max_range=100))
    assert engine.render("{{ range(100)|length }}", {}) == "100"
    with pytest.raises(TemplateError, match="at most 100 items"):
        engine.render("{{ range(101)|length }}", {})


def test_builtin_corner_cases_are_bounded(engine: Engine) -> None:
    assert engine.render("{{ 1234.5678|round(2) }} {{ 1234|round(-2) }}", {}) == "1234.57 1200"
    with pytest.raises(TemplateError, match="round\\(\\) precision"):
        engine.render("{{ 5|round(-10**7) }}", {})
    # strip() and trim() treat their characters as a set: a long argument is reduced to its distinct characters.
    assert engine.render("{{ 'xxabcxx'.strip('x' * 1000) }}|{{ 'xxabcxx'|trim('x' * 1000) }}", {}) == "abc|abc"
    assert engine.render("{{ text|wordwrap(5) }}", {"text": "aaa bbb ccc"}) == "aaa\nbbb\nccc"
    with pytest.raises(TemplateError, match="wordwrap"):
        engine.render("{{ text|wordwrap(1) }}", {"text": "a" * 100_000})
    with pytest.raises(TemplateError, match="4096 bits"):
        engine.render("{{ ('1' * 5000)|int(base=2) }}", {})


def test_autoescape_blocks_are_refused(engine: Engine) -> None:
    with pytest.raises(TemplateError, match="autoescape"):
        engine.check_source("{% autoescape true %}{{ x }}{% endautoescape %}")


@pytest.mark.parametrize("field", ["time_budget_ms", "max_output_bytes", "max_calls", "max_include_depth"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Limits(**{field: 0})


# -- concurrency ----------------------------------------------------------------------------------------------


def test_concurrent_renders_get_their_own_results_and_guards() -> None:
    engine = Engine(Limits(max_calls=5000))
    source = "{% for i in range(n) %}{{ name }}{% endfor %}"
    results: dict[int, object] = {}

    def work(worker: int) -> None:
        outcome: list[object] = []
        for round_ in range(40):
            if worker == 0 and round_ % 4 == 0:
                # One thread keeps exhausting its budget; the others' budgets must not be touched.
                try:
                    engine.render(source, {"n": 10_000, "name": "x"}, cache_key="loop")
                    outcome.append("no error")
                except TemplateError:
                    outcome.append("over budget")
            else:
                outcome.append(engine.render(source, {"n": 3, "name": f"w{worker}r{round_}"}, cache_key="loop"))
        results[worker] = outcome

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in range(8):
        for round_, outcome in enumerate(results[worker]):
            if worker == 0 and round_ % 4 == 0:
                assert outcome == "over budget"
            else:
                assert outcome == f"w{worker}r{round_}" * 3


def test_errors_are_render_errors() -> None:
    for exc in (TemplateError("x"), MissingVariables(["a"]), InvalidVariables({"$": ["x"]})):
        assert isinstance(exc, RenderError)
        assert exc.message
        assert isinstance(exc.details, dict)


def test_default_engine_and_trailing_newline() -> None:
    assert DEFAULT_ENGINE.render("{{ a }}\n", {"a": 1}) == "1\n"
