"""
Writes test/fixtures/hydra/override-cases.json: every case of Hydra's own override-parser tests
(tests/test_overrides_parser.py and the basic sweeper's split tests), with what the REAL Hydra
parser returns for it, encoded so that test/config/hydra-overrides.test.ts can compare bench's
parser with it, types included.

Run it as a pytest plugin inside a Hydra source tree whose grammar has been generated:

    git clone https://github.com/facebookresearch/hydra && cd hydra && git checkout v1.3.5
    (cd hydra/grammar && antlr4 -Dlanguage=Python3 -visitor -o gen OverrideLexer.g4 OverrideParser.g4)
    PYTHONPATH=/path/to/bench/scripts BENCH_CASES_OUT=/path/to/bench/test/fixtures/hydra/override-cases.json \
      python3 -m pytest -q -p no:cacheprovider -o filterwarnings=ignore --collect-only \
      -p hydra_override_cases tests/test_overrides_parser.py tests/test_basic_sweeper.py

(Debian: apt-get install antlr4 python3-antlr4 python3-pytest python3-omegaconf; the 4.7 tool's
output runs on the 4.9 runtime.) The values come from running Hydra, not from the tests'
expectations: they are the same where Hydra passes its own tests, and they cover the tests whose
expectation is a computation (sweep iterators, value strings).
"""

import json
import math
import os
import sys

from hydra import __version__ as hydra_version
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra._internal.grammar.functions import Functions
from hydra._internal.grammar.utils import escape_special_characters
from hydra.core.override_parser.overrides_parser import OverridesParser, create_functions
from hydra.core.override_parser.types import (
    ChoiceSweep,
    FloatRange,
    Glob,
    IntervalSweep,
    Key,
    Override,
    QuotedString,
    RangeSweep,
    Transformer,
)

PARSER = OverridesParser(create_functions())


def enc(v):
    """A value with its type: ['int', '3'], ['float', 1.5 | 'inf' | 'nan'], ['choice', ...], ..."""
    if isinstance(v, QuotedString):
        return ["quoted", v.text, v.quote.name]
    if v is None:
        return ["null"]
    if isinstance(v, bool):
        return ["bool", v]
    if isinstance(v, int):
        return ["int", str(v)]
    if isinstance(v, float):
        return ["float", v if math.isfinite(v) else repr(v)]
    if isinstance(v, str):
        return ["str", v]
    if isinstance(v, list):
        return ["list", [enc(x) for x in v]]
    if isinstance(v, dict):
        return ["dict", [[str(k), enc(x)] for k, x in v.items()]]
    if isinstance(v, ChoiceSweep):
        return ["choice", [enc(x) for x in v.list], v.simple_form, v.shuffle, sorted(v.tags)]
    if isinstance(v, RangeSweep):
        return ["range", enc(v.start), enc(v.stop), enc(v.step), v.shuffle, sorted(v.tags)]
    if isinstance(v, IntervalSweep):
        return ["interval", enc(v.start), enc(v.end), sorted(v.tags)]
    if isinstance(v, Glob):
        return ["glob", list(v.include), list(v.exclude)]
    if isinstance(v, Override):
        return ["override", v.type.name, v.key_or_group, v.package, v.value_type.name if v.value_type else None, enc(v._value)]
    if isinstance(v, Key):
        return ["key", v.key_or_group, v.package]
    raise TypeError(f"cannot encode {type(v).__name__}: {v!r}")


def run(op, *args):
    """['ok', result] or ['error', exception type, message] for one operation of real Hydra."""
    try:
        return ["ok", op(*args)]
    except Exception as e:  # noqa: BLE001 - every refusal is recorded
        return ["error", type(e).__name__, str(e)]


def rule(text, name):
    return run(lambda: enc(PARSER.parse_rule(text, name)))


def override_op(text, what, *extra):
    def op():
        o = PARSER.parse_rule(text, "override")
        if what == "key_element":
            return o.get_key_element()
        if what == "value_element":
            return o.get_value_element_as_str(space_after_sep=extra[0])
        if what == "value":
            return enc(o.value())
        if what == "sweep_strings":
            return sorted(o.sweep_string_iterator())
        if what == "sweep_iterators":
            return [list(o.sweep_string_iterator()), [enc(x) for x in o.sweep_iterator(transformer=Transformer.encode)]]
        raise ValueError(what)

    return run(op)


RULE_OF = {
    "test_element": "element",
    "test_value": "value",
    "test_list_container": "listContainer",
    "test_dict_container": "dictContainer",
    "test_choice_sweep": "function",
    "test_simple_choice_sweep": "simpleChoiceSweep",
    "test_range_sweep": "function",
    "test_interval_sweep": "function",
    "test_package": "package",
    "test_package_or_group": "packageOrGroup",
    "test_key": "key",
    "test_primitive": "primitive",
    "test_primitive_quoted_string": "primitive",
    "test_override_del": "override",
    "test_whitespaces": "override",
    "test_tag_sweep": "function",
    "test_sort": "function",
    "test_sweep_shuffle": "function",
    "test_glob": "function",
}


def case_of(test, p):
    """[op, input, result] for one collected test, or None for a test that is not about parsing."""
    if test in RULE_OF:
        return ["rule", [RULE_OF[test], p["value"]], rule(p["value"], RULE_OF[test])]
    if test == "test_parse_errors":
        return ["rule", [p["rule"], p["value"]], rule(p["value"], p["rule"])]
    if test == "test_override":
        line = p["prefix"] + p["value"]
        return ["rule", ["override", line], rule(line, "override")]
    if test == "test_shuffle_sequence":
        # What a shuffle gives is random; which values it gives is not.
        return ["sweep_strings", [p["value"]], override_op(p["value"], "sweep_strings")]
    if test == "test_get_key_element":
        return ["key_element", [p["override"]], override_op(p["override"], "key_element")]
    if test == "test_override_get_value_element_method":
        args = [p["override"], p["space_after_sep"]]
        return ["value_element", args, override_op(p["override"], "value_element", p["space_after_sep"])]
    if test == "test_override_value_method":
        return ["value", [p["override"]], override_op(p["override"], "value")]
    if test == "test_sweep_iterators":
        return ["sweep_iterators", [p["value"]], override_op(p["value"], "sweep_iterators")]
    if test == "test_float_range":
        args = [p["start"], p["stop"], p["step"]]
        return ["float_range", [enc(x) for x in args], run(lambda: [enc(x) for x in FloatRange(*args)])]
    if test == "test_cast_conversions":
        # One case per cast, as the test checks each.
        return [
            ["rule", ["function", f"{f}({p['value']})"], rule(f"{f}({p['value']})", "function")]
            for f in ("int", "float", "bool", "str")
        ]
    if test == "test_glob_filter":
        strings = ["the", "quick", "brown", "fox", "jumped", "under", "the", "lazy", "dog"]
        args = [p["include"], p["exclude"]]
        return ["glob_filter", args, run(lambda: Glob(include=p["include"], exclude=p["exclude"]).filter(strings))]
    if test == "test_escape_special_characters":
        return ["escape", [p["s"]], run(lambda: escape_special_characters(p["s"]))]
    if test == "test_split":
        def split():
            batches = BasicSweeper.split_arguments(PARSER.parse_overrides(p["args"]), max_batch_size=p["max_batch_size"])
            return [[list(job) for job in batch] for batch in batches]

        return ["split", [p["args"], p["max_batch_size"]], run(split)]
    if test in ("test_function", "test_eval", "test_eval_errors"):
        # Functions the test registers itself (abs, mul, foo1, ...), alone in their parser: the
        # TypeScript test registers the same functions, with the same signatures, in bench's.
        functions = Functions()
        if test == "test_function":
            functions.register(name="abs", func=abs)
            functions.register(name="mul", func=lambda n, m: n * m)
        else:
            functions.register(name=p["func_name"], func=p["func"])
        names = [[n, str(functions.definitions[n])] for n in sorted(functions.definitions)]
        return ["custom_function", [names, p["value"]], run(lambda: enc(OverridesParser(functions).parse_rule(p["value"], "function")))]
    return None


def pytest_collection_modifyitems(session, config, items):
    cases = []
    for item in items:
        test = item.originalname if hasattr(item, "originalname") else item.name.split("[")[0]
        params = getattr(item, "callspec", None)
        made = case_of(test, params.params if params else {})
        if made is None:
            continue
        for c in made if isinstance(made[0], list) else [made]:
            cases.append({"test": test, "id": item.name, "op": c[0], "input": c[1], "hydra": c[2]})
    out = os.environ["BENCH_CASES_OUT"]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"hydra": hydra_version, "source": "tests/test_overrides_parser.py, tests/test_basic_sweeper.py", "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(cases)} cases from Hydra {hydra_version} written to {out}", file=sys.stderr)
