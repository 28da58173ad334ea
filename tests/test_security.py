"""The security rules: models load from safetensors only and never run remote code unless asked,
no eval/exec or pickle loading anywhere in the package, the MLflow UI bound to 127.0.0.1.
(Passwords never showing is checked with the error cases, in test_robustness.py.)"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tests.error_cases import (
    only_pickled_weights,
    save_tokenizer,
    tiny_bert,
)

ROOT = Path(__file__).resolve().parent.parent


# Calls that run text as code or unpickle (or pickle) data, by dotted name.
FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "torch.load",
    "torch.save",
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "yaml.load",
    "yaml.unsafe_load",
    "yaml.full_load",
    "marshal.loads",
}
FORBIDDEN_MODULES = {"pickle", "dill", "marshal", "shelve", "cloudpickle", "joblib"}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def unsafe_uses(source: str) -> list[str]:
    """What in ``source`` runs strings as code, unpickles, or opens remote code / pickles."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names.append(getattr(node, "module", None) or "")
            found += [f"import {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name in FORBIDDEN_CALLS:
            found.append(name)
        for kw in node.keywords:
            value = kw.value.value if isinstance(kw.value, ast.Constant) else None
            if kw.arg == "trust_remote_code" and value is True:
                found.append("trust_remote_code=True")
            if kw.arg in ("use_safetensors", "safe_serialization") and value is False:
                found.append(f"{kw.arg}=False")
            if kw.arg == "weights_only" and value is False:
                found.append("weights_only=False")
        if name.endswith(".from_pretrained") and "Model" in name:
            safe = any(
                kw.arg == "use_safetensors"
                and isinstance(kw.value, ast.Constant)
                and kw.value.value is True
                for kw in node.keywords
            )
            if not safe:
                found.append(f"{name} without use_safetensors=True")
    return found


def _package_sources() -> list[Path]:
    return sorted(
        p for folder in ("sweeper", "objectives", "scripts") for p in (ROOT / folder).rglob("*.py")
    )


def test_no_eval_exec_or_pickle_loading_in_the_package() -> None:
    sources = _package_sources()
    assert len(sources) > 15  # the scan really sees the package
    offenders = {
        str(p.relative_to(ROOT)): uses
        for p in sources
        if (uses := unsafe_uses(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    ("snippet", "finding"),
    [
        ("eval(cfg['x'])", "eval"),
        ("exec(text)", "exec"),
        ("import torch\ntorch.load(path)", "torch.load"),
        ("import pickle\npickle.loads(blob)", "import pickle"),
        ("from pickle import loads", "import pickle"),
        ("yaml.load(text, Loader=yaml.Loader)", "yaml.load"),
        ("AutoTokenizer.from_pretrained(p, trust_remote_code=True)", "trust_remote_code=True"),
        (
            "AutoModelForSequenceClassification.from_pretrained(p)",
            "AutoModelForSequenceClassification.from_pretrained without use_safetensors=True",
        ),
        ("model.save_pretrained(out, safe_serialization=False)", "safe_serialization=False"),
    ],
)
def test_the_source_scan_finds_what_it_forbids(snippet: str, finding: str) -> None:
    assert finding in unsafe_uses(snippet)


def test_model_loading_refuses_pickled_weights_and_never_unpickles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from objectives.glue.model import load_model
    from sweeper.errors import ModelError

    only_pickled_weights(tmp_path)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(ModelError, match=r"no \*\.safetensors weights in .*bin-only"):
        load_model({"name_or_path": str(tmp_path / "bin-only")}, num_labels=2)


def test_model_loading_prefers_safetensors_without_remote_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both weight files present: safetensors is read, the pickle never is."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from objectives.glue.model import load_model, load_tokenizer

    folder = tmp_path / "both"
    model = tiny_bert(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    save_tokenizer(folder)
    calls: list[tuple[str, dict[str, Any]]] = []
    for cls in (AutoConfig, AutoModelForSequenceClassification, AutoTokenizer):
        original = cls.from_pretrained

        def spy(*args: Any, _orig: Any = original, _name: str = cls.__name__, **kw: Any) -> Any:
            calls.append((_name, kw))
            return _orig(*args, **kw)

        monkeypatch.setattr(cls, "from_pretrained", spy)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", refuse)
    loaded = load_model({"name_or_path": str(folder)}, num_labels=2)
    load_tokenizer({"name_or_path": str(folder)})
    assert torch.equal(
        loaded.bert.embeddings.word_embeddings.weight,
        model.bert.embeddings.word_embeddings.weight,
    )
    assert {name for name, _ in calls} == {
        "AutoConfig",
        "AutoModelForSequenceClassification",
        "AutoTokenizer",
    }
    assert all(kw["trust_remote_code"] is False for _, kw in calls)
    assert all(
        kw["use_safetensors"] is True
        for name, kw in calls
        if name == "AutoModelForSequenceClassification"
    )


def test_mlflow_ui_binds_to_localhost_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sweeper.commands.ui import command

    monkeypatch.setenv("SWEEPER_HOME", str(tmp_path))
    (tmp_path / "mlflow.db").write_bytes(b"")
    default = command([])
    assert default[default.index("--host") + 1] == "127.0.0.1"
    assert default[default.index("--backend-store-uri") + 1] == f"sqlite:///{tmp_path}/mlflow.db"
    chosen = command(["--host", "0.0.0.0"])  # noqa: S104 - the user's explicit choice
    assert chosen[chosen.index("--host") + 1] == "0.0.0.0"  # noqa: S104


def test_config_files_keep_remote_code_off() -> None:
    import yaml

    for path in sorted((ROOT / "conf" / "model").glob("*.yaml")):
        assert yaml.safe_load(path.read_text())["trust_remote_code"] is False, path
