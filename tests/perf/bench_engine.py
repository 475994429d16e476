"""Micro-benchmark of the rendering engine: what the guards cost on the hot path.

Run from the repo root: `.venv/bin/python -m tests.perf.bench_engine [--number 20000] [--repeat 7]`.
No Django, no services. A ~300-character template with four variables (built on the seed service's visual content
template) is rendered, compiled once and cached, through:

  (a) guarded   promptconfig_client.engine.Engine.render with a cache_key (what the server runs);
  (b) plain     the same template in a plain, unsandboxed jinja2.Environment, compiled once, Template.render;
  (b') plain*   (b) with the template's globals as a plain dict instead of Jinja2's ChainMap, the one per-render
                shortcut (a) takes that (b) does not: (a)/(b') is the cost of the guards themselves;
  (c) format    an equivalent str.format (the filter applied by hand).

Each figure is the best of --repeat runs of --number renders (timeit), in microseconds per render.
"""

import argparse
import timeit
from collections.abc import Callable

import jinja2

from promptconfig_client.engine import FILTERS, Engine

TEMPLATE = (
    "You are an expert educational content creator specializing in visual learning. Create engaging content "
    "about {{ topic }} for {{ difficulty|format_difficulty }} students with a {{ learning_style }} learning "
    "preference. Keep the tone {{ tone }}. Include diagrams, charts, and visual examples where appropriate."
)
FORMAT = (
    "You are an expert educational content creator specializing in visual learning. Create engaging content "
    "about {topic} for {difficulty} students with a {learning_style} learning "
    "preference. Keep the tone {tone}. Include diagrams, charts, and visual examples where appropriate."
)
VARIABLES = {"topic": "photosynthesis", "difficulty": "beginner", "learning_style": "visual", "tone": "friendly"}
TARGET_RATIO = 1.5


def renderers() -> dict[str, Callable[[], str]]:
    engine = Engine()
    plain_env = jinja2.Environment()
    plain_env.filters.update(FILTERS)
    plain = plain_env.from_string(TEMPLATE)
    plain_dict_globals = plain_env.from_string(TEMPLATE)
    plain_dict_globals.globals = dict(plain_env.globals)
    format_difficulty = FILTERS["format_difficulty"]

    def str_format() -> str:
        v = VARIABLES
        return FORMAT.format(
            topic=v["topic"], difficulty=format_difficulty(v["difficulty"]), learning_style=v["learning_style"],
            tone=v["tone"],
        )  # fmt: skip

    return {
        "guarded": lambda: engine.render(TEMPLATE, VARIABLES, cache_key=("bench", 1)),
        "plain": lambda: plain.render(VARIABLES),
        "plain*": lambda: plain_dict_globals.render(VARIABLES),
        "format": str_format,
    }


def best_us(fn: Callable[[], str], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=20_000, help="renders per run (default 20000)")
    parser.add_argument("--repeat", type=int, default=7, help="runs; the best is reported (default 7)")
    args = parser.parse_args()

    functions = renderers()
    outputs = {name: fn() for name, fn in functions.items()}
    assert len(set(outputs.values())) == 1, "the renderers must produce the same text"
    print(f"template: {len(TEMPLATE)} characters, {len(VARIABLES)} variables; output {len(outputs['plain'])} chars")

    figures = {name: best_us(fn, args.number, args.repeat) for name, fn in functions.items()}
    for name, micros in figures.items():
        print(f"  {name:8} {micros:7.2f} us/render")
    ratio = figures["guarded"] / figures["plain"]
    print(f"guarded/plain  {ratio:.2f}  (target <= {TARGET_RATIO})")
    print(f"guarded/plain* {figures['guarded'] / figures['plain*']:.2f}  (the guards' own cost)")
    print(f"plain/format   {figures['plain'] / figures['format']:.2f}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
