"""Hypothesis fuzzing of what parses user input: accept it, or raise the project's own error.

The search-space parser, the train settings, the data config check and the GLUE TSV reader
get arbitrary (and nearly right) input; anything but a :class:`SweeperError` with a one-line
message is a bug (a traceback the user would see instead of a clear error). What they accept
must also work downstream: sampled values pass the train-setting rules, and well-formed TSV
files read back exactly as written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import optuna
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from objectives.glue.data import check_config
from objectives.glue.tasks import TASKS, Task, get_task
from objectives.glue.tsv import read_tsv
from sweeper.errors import SweeperError
from sweeper.rules import Choice, Range
from sweeper.schedule import SCHEDULER_PARAMS, SCHEDULERS
from sweeper.settings import PRECISIONS, RULES, TrainSettings
from sweeper.space import TYPES, parse_space

FUZZ = settings(
    max_examples=150,
    deadline=None,  # the first examples import and warm up optuna / the tokenizer-free reader
    suppress_health_check=[HealthCheck.too_slow],
)
HUGE = 10**400  # an int past float range: float math on it raises OverflowError

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 1e-5, 3e-4, 0.5, 1.0, 2, 64, HUGE, -HUGE]),
    st.text(max_size=8),
    st.sampled_from([*SCHEDULERS, *PRECISIONS, "float", "int", "categorical"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def _one_line(err: SweeperError) -> None:
    message = str(err)
    assert message and "\n" not in message, repr(message)


def accepts_or_refuses(call: Callable[[], Any]) -> Any:
    """``call()``'s result, or ``None`` when it raised a one-line :class:`SweeperError`."""
    try:
        return call()
    except SweeperError as err:
        _one_line(err)
        return None


# ----------------------------------------------------------------------------- search space

NUMBERS = st.one_of(st.integers(-3, 70), st.floats(-1.0, 80.0), SCALARS)
WHEN = st.dictionaries(
    st.sampled_from(["scheduler", "precision", "group_by_length", "lr"]) | st.text(max_size=4),
    st.lists(SCALARS, max_size=3) | SCALARS,
    max_size=2,
)
ENTRY = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(TYPES) | VALUES},
        optional={
            "low": NUMBERS,
            "high": NUMBERS,
            "log": st.booleans() | SCALARS,
            "step": NUMBERS,
            "choices": st.lists(SCALARS, max_size=5) | VALUES,
            "when": WHEN | VALUES,
            "extra": VALUES,
        },
    ),
    VALUES,
)


def _range_entry(rule: Range) -> st.SearchStrategy[dict[str, Any]]:
    """A float or int entry inside ``rule``'s interval (so often valid), maybe with a step."""

    @st.composite
    def entry(draw: st.DrawFn) -> dict[str, Any]:
        lo = -5.0 if rule.low is None else rule.low
        hi = lo + 100.0 if rule.high is None else rule.high
        if rule.integer:
            low = draw(st.integers(int(lo), int(lo) + 40))
            high = low + draw(st.integers(0, 40))
            out: dict[str, Any] = {"type": "int", "low": low, "high": high}
            if high > low and draw(st.booleans()):
                out["step"] = draw(
                    st.sampled_from([d for d in range(1, 9) if (high - low) % d == 0])
                )
            elif low >= 1:
                out["log"] = draw(st.booleans())
            return out
        low = draw(st.floats(lo, hi, exclude_min=rule.low_open, exclude_max=rule.high_open))
        high = draw(st.floats(low, hi, exclude_max=rule.high_open) | st.just(low))
        out = {"type": "float", "low": low, "high": high}
        if draw(st.booleans()):
            # A decimal grid (low 0.05, step 0.05, high 0.2), as people write them.
            step = Decimal(draw(st.sampled_from(["0.01", "0.05", "0.1", "0.25", "2"])))
            start = Decimal(str(round(low, 2)))
            out["low"], out["step"] = float(start), float(step)
            out["high"] = float(start + step * draw(st.integers(0, 6)))
        elif high > low and draw(st.booleans()):
            out["step"] = (high - low) / draw(
                st.integers(1, 7)
            )  # divides in floats, rarely exactly
        elif low > 0:
            out["log"] = draw(st.booleans())
        return out

    return entry()


def plausible_entry(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """An entry for train key ``name`` drawn from what its rule allows."""
    rule = RULES[name]
    if isinstance(rule, Range):
        return _range_entry(rule)
    options = list(rule.options) if isinstance(rule, Choice) else [True, False]
    return st.lists(st.sampled_from(options), min_size=1, max_size=4, unique=True).map(
        lambda choices: {"type": "categorical", "choices": choices}
    )


@st.composite
def plausible_space(draw: st.DrawFn) -> dict[str, Any]:
    """A search space of real train keys with mostly valid entries; one field may go wrong."""
    names = draw(st.lists(st.sampled_from(sorted(RULES)), unique=True, min_size=1, max_size=4))
    names.sort(key=lambda n: (n != "scheduler", n))  # a condition's parent comes first
    space: dict[str, Any] = {}
    for name in names:
        entry = draw(plausible_entry(name))
        parent = space.get("scheduler")
        if name.startswith("scheduler_kwargs.") and parent and draw(st.booleans()):
            entry["when"] = {"scheduler": draw(st.sampled_from(parent["choices"]))}
        if draw(st.integers(0, 3)) == 0:
            field = draw(st.sampled_from(["type", "low", "high", "log", "step", "choices", "when"]))
            entry[field] = draw(VALUES)
        if name.startswith("scheduler_kwargs."):
            space.setdefault("scheduler_kwargs", {})[name.split(".", 1)[1]] = entry
        else:
            space[name] = entry
    return space


SPACE = st.one_of(
    plausible_space(),
    plausible_space(),  # (weighted: most examples are nearly valid)
    st.dictionaries(st.sampled_from(sorted(RULES)) | st.text(max_size=8), ENTRY, max_size=5),
    st.fixed_dictionaries(
        {
            "scheduler": ENTRY,
            "scheduler_kwargs": st.dictionaries(
                st.sampled_from(sorted(SCHEDULER_PARAMS)) | st.text(max_size=6), ENTRY, max_size=3
            ),
        }
    ),
    VALUES,
)


@cache
def base_settings() -> TrainSettings:
    from sweeper.config import compose, resolve

    return TrainSettings.from_mapping(resolve(compose([]))["train"])


@FUZZ
@given(raw=SPACE)
@example(raw={"lr": {"type": "float", "low": 1e-5, "high": HUGE}})
@example(raw={"batch_size": {"type": "int", "low": 1, "high": HUGE}})
@example(raw={"scheduler": {"type": "categorical", "choices": [["linear"]]}})
@example(raw={"lr": {"type": "float", "low": 0.1, "high": 0.7, "step": 0.2}})
@example(
    raw={
        "adam_beta1": {
            "type": "float",
            "low": 0.3008560750639882,
            "high": 0.875,
            "step": 0.5741439249360119,
        }
    }
)
def test_search_space_parser_accepts_or_raises_its_own_error(raw: Any) -> None:
    space = accepts_or_refuses(lambda: parse_space(raw))
    if space is None:
        return
    # Accepted: every value it can sample is one the train settings take.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):
        trial = study.ask()
        params = space.sample(trial)
        for name, value in params.items():
            assert space.entry(name).contains(value), (name, value)
        base_settings().replace(params)
        study.tell(trial, 0.0)


@pytest.mark.parametrize(
    ("low", "high", "step", "values"),
    [
        (0.05, 0.2, 0.05, {0.05, 0.1, 0.15, 0.2}),
        (0.1, 0.7, 0.2, {0.1, 0.3, 0.5, 0.7}),
        (0.3008560750639882, 0.875, 0.5741439249360119, None),  # divides in floats only
        (1e-300, 1e300, 1e-300, None),  # past decimal precision
    ],
)
def test_a_float_step_divides_exactly_or_is_refused(
    low: float, high: float, step: float, values: set[float] | None
) -> None:
    """Optuna shrinks a range whose step does not divide it (with a warning only): a step the
    parser accepts must sample the whole grid, one it refuses names the step."""
    raw = {"adam_beta1": {"type": "float", "low": low, "high": high, "step": step}}
    if values is None:
        with pytest.raises(SweeperError, match=r"adam_beta1.step must divide high - low"):
            parse_space(raw)
        return
    space = parse_space(raw)
    assert set(space.grid()["adam_beta1"]) == values  # exactly, no float drift past high
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(space.grid(), seed=0))
    study.optimize(lambda trial: space.sample(trial)["adam_beta1"], n_trials=len(values))
    assert {t.params["adam_beta1"] for t in study.trials} == values


# ----------------------------------------------------------------------------- train settings

TRAIN_KEYS = st.sampled_from(sorted({k.split(".")[0] for k in RULES})) | st.text(max_size=8)


@st.composite
def plausible_changes(draw: st.DrawFn) -> dict[str, Any]:
    """New values for a few train keys: a bound of an entry their rule allows, or anything."""
    changes: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(sorted(RULES)), unique=True, max_size=4)):
        entry = draw(plausible_entry(name))
        value = (
            entry["choices"][0]
            if "choices" in entry
            else entry[draw(st.sampled_from(["low", "high"]))]
        )
        key, _, sub = name.partition(".")
        if sub:
            changes.setdefault(key, {})[sub] = value
        else:
            changes[key] = value
    return changes


@FUZZ
@given(
    changes=plausible_changes() | st.dictionaries(TRAIN_KEYS, VALUES, max_size=4),
    dropped=st.lists(TRAIN_KEYS, max_size=2),
    kwargs=st.none() | st.dictionaries(st.sampled_from(sorted(SCHEDULER_PARAMS)), SCALARS),
)
@example(changes={"batch_size": HUGE}, dropped=[], kwargs=None)
@example(changes={"lr": float("nan")}, dropped=[], kwargs=None)
@example(changes={"scheduler_kwargs": "gamma"}, dropped=[], kwargs=None)
def test_train_settings_accept_or_raise_their_own_error(
    changes: dict[str, Any], dropped: list[str], kwargs: dict[str, Any] | None
) -> None:
    train: dict[str, Any] = {**vars(base_settings()), **changes}
    if kwargs is not None:
        train["scheduler_kwargs"] = kwargs
    for key in dropped:
        train.pop(key, None)
    settings_ = accepts_or_refuses(lambda: TrainSettings.from_mapping(train))
    if settings_ is not None:
        assert isinstance(settings_.as_params(), dict)  # the record of a trial builds too


# ----------------------------------------------------------------------------- data config

DATA = st.fixed_dictionaries(
    {},
    optional={
        "task": st.sampled_from(sorted(TASKS)) | SCALARS,
        "source": st.sampled_from(["auto", "glue_dir", "hub", "builtin"]) | SCALARS,
        "glue_dir": st.none() | st.just("/nonexistent/glue") | SCALARS,
        "validation": st.sampled_from(["dev", "from_train"]) | SCALARS,
        "validation_size": NUMBERS,
        "max_train_samples": NUMBERS,
        "max_eval_samples": NUMBERS,
        "max_seq_length": NUMBERS,
        "builtin": st.fixed_dictionaries(
            {}, optional={"num_train": NUMBERS, "num_eval": NUMBERS, "label_noise": NUMBERS}
        )
        | VALUES,
    },
)


@FUZZ
@given(cfg=DATA)
@example(cfg={"task": "sst2", "source": "glue_dir", "glue_dir": 123})
@example(cfg={"task": "sst2", "builtin": 5})
@example(cfg={"task": "sst2", "builtin": {"num_train": "many"}})
def test_data_config_check_accepts_or_raises_its_own_error(cfg: Mapping[str, Any]) -> None:
    accepts_or_refuses(lambda: check_config(cfg))


# ----------------------------------------------------------------------------- TSV files

# Text that a tab-separated file can hold in one field: no tab, line break or NUL. (The BOM is
# left out too: at the start of a file it is the encoding mark, dropped on purpose.)
FIELD = st.text(
    st.characters(blacklist_characters="\t\n\r\x00\ufeff", blacklist_categories=("Cs",)),
    max_size=12,
)
ANY_FIELD = st.text(max_size=12) | st.sampled_from(['"', '"quoted', "\\", "\x00", "\ufeff", ""])


def _label(task: Task) -> st.SearchStrategy[str]:
    if task.is_regression:
        return st.floats(0.0, 5.0).map(lambda x: f"{x:.3f}")
    if task.label_names is not None:
        return st.sampled_from(task.label_names)
    return st.sampled_from([str(i) for i in range(task.num_labels)])


def _columns(task: Task) -> tuple[list[str] | None, dict[str, int]]:
    """A header (None for CoLA) and where text_a, text_b and the label sit in each row."""
    layout = task.layout
    if not layout.header:
        return None, {"a": int(layout.text_a), "label": int(layout.label), "width": 4}
    names = ["id", str(layout.text_a), str(layout.label)]
    if layout.text_b is not None:
        names.insert(2, str(layout.text_b))
    places = {"a": names.index(str(layout.text_a)), "label": names.index(str(layout.label))}
    if layout.text_b is not None:
        places["b"] = names.index(str(layout.text_b))
    return names, {**places, "width": len(names)}


@st.composite
def well_formed(draw: st.DrawFn) -> tuple[Task, list[str] | None, list[list[str]]]:
    task = get_task(draw(st.sampled_from(sorted(TASKS))))
    header, places = _columns(task)
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        row = [draw(FIELD) for _ in range(places["width"])]
        row[places["label"]] = draw(_label(task))
        rows.append(row)
    return task, header, rows


@cache
def _scratch() -> Path:
    # One file rewritten per example (Hypothesis runs examples many times per test).
    return Path(tempfile.mkdtemp(prefix="sweeper-fuzz-")) / "train.tsv"


@FUZZ
@given(case=well_formed(), newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans())
def test_well_formed_tsv_reads_back_exactly(
    case: tuple[Task, list[str] | None, list[list[str]]], newline: str, bom: bool
) -> None:
    task, header, rows = case
    lines = ([header] if header else []) + rows
    text = ("\ufeff" if bom else "") + newline.join("\t".join(r) for r in lines) + newline
    path = _scratch()
    path.write_bytes(text.encode("utf-8"))
    _, places = _columns(task)
    split = read_tsv(path, task)
    assert split.text_a == [r[places["a"]] for r in rows]
    if "b" in places:
        assert split.text_b == [r[places["b"]] for r in rows]
    else:
        assert split.text_b is None
    assert len(split.labels) == len(rows)


@st.composite
def nearly_right(draw: st.DrawFn) -> tuple[Task, bytes]:
    """Files close to a task's layout, broken in random ways (or random bytes)."""
    task = get_task(draw(st.sampled_from(sorted(TASKS))))
    header, places = _columns(task)
    lines: list[list[str]] = []
    if header is not None and draw(st.booleans()):
        lines.append(header)
    elif header is not None:
        lines.append(draw(st.lists(ANY_FIELD, max_size=5)))
    for _ in range(draw(st.integers(0, 4))):
        right = places["width"]
        width = draw(st.sampled_from([right, right, right, right + 1, 1, 0]))
        row = [draw(ANY_FIELD) for _ in range(width)]
        if width == places["width"] and draw(st.booleans()):
            row[places["label"]] = draw(_label(task) | ANY_FIELD)
        lines.append(row)
    sep = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    data = sep.join("\t".join(r) for r in lines).encode("utf-8", "surrogatepass")
    broken = st.binary(max_size=40) | st.just(data + b"\xff\xfe")  # not UTF-8
    return task, draw(st.just(data) | st.just(data) | st.just(data) | broken)


@FUZZ
@given(case=nearly_right())
@example(case=(get_task("sst2"), b"sentence\tlabel\nok\t1\n\x00\t0\n"))
@example(case=(get_task("sst2"), b"sentence\tlabel\nok\t1\n" + b"x" * 200_000 + b"\t1\n"))
@example(case=(get_task("stsb"), b"\xef\xbb\xbf"))
def test_tsv_reader_accepts_or_raises_its_own_error(case: tuple[Task, bytes]) -> None:
    task, data = case
    path = _scratch()
    path.write_bytes(data)
    split = accepts_or_refuses(lambda: read_tsv(path, task))
    if split is None:
        return
    assert len(split.labels) == len(split.text_a) > 0
    if split.text_b is not None:
        assert len(split.text_b) == len(split.labels)
    for label in split.labels:
        if task.is_regression:
            assert 0.0 <= label <= 5.0
        else:
            assert label in range(task.num_labels)


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda: parse_space({"lr": {"type": "float", "low": 1e-5, "high": HUGE}}), "high"),
        (
            lambda: TrainSettings.from_mapping({**vars(base_settings()), "batch_size": HUGE}),
            "train.batch_size",
        ),
        (lambda: check_config({"task": "sst2", "source": "glue_dir", "glue_dir": 123}), "123"),
    ],
)
def test_former_tracebacks_are_now_clear_errors(call: Callable[[], Any], key: str) -> None:
    """Inputs the fuzzing found: each used to escape as OverflowError or TypeError."""
    with pytest.raises(SweeperError, match=key) as info:
        call()
    _one_line(info.value)
