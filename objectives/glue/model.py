"""Model and tokenizer loading: safetensors only, no remote code unless asked for."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from objectives.glue.hub import go_offline, hub_reachable
from sweeper.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PACKAGE_PREFIX = "pkg:"


def resolve_name_or_path(name_or_path: str) -> str:
    """A hub id or a local folder; ``pkg:MODULE`` is the folder an installed package ships.

    Raises:
        ModelError: a local folder that does not exist or holds no safetensors weights.
    """
    if not name_or_path:
        raise ConfigError("model.name_or_path must be a hub id, a folder or pkg:MODULE but got ''.")
    if name_or_path.startswith(PACKAGE_PREFIX):
        module_name = name_or_path[len(PACKAGE_PREFIX) :]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise ModelError(
                f"model.name_or_path={name_or_path}: package {module_name!r} is not installed "
                f"(pip install {module_name.replace('_', '-')})."
            ) from None
        path = Path(module.get_model_path())
    else:
        path = Path(name_or_path).expanduser()
        looks_local = name_or_path.startswith((".", "/", "~")) or path.exists()
        if not looks_local:
            return name_or_path  # a hub id, resolved through the HF cache
    if not path.is_dir():
        raise ModelError(f"model.name_or_path={name_or_path}: folder {path} does not exist.")
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.safetensors.index.json")):
        raise ModelError(
            f"model.name_or_path={name_or_path}: no *.safetensors weights in {path}; sweeper "
            "loads safetensors only (convert the checkpoint, e.g. with safetensors' convert "
            "script)."
        )
    if not (path / "config.json").is_file():
        raise ModelError(f"model.name_or_path={name_or_path}: no config.json in {path}.")
    return str(path)


def _hub_kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    trust = cfg.get("trust_remote_code", False)
    # Only a real true runs a checkpoint's code: bool("no") or bool("false") would be True.
    if not isinstance(trust, bool):
        raise ConfigError(f"model.trust_remote_code must be true or false but got {trust!r}.")
    return {"revision": cfg.get("revision"), "trust_remote_code": trust}


def check_model_config(cfg: Mapping[str, Any]) -> None:
    """The model node's checks that need no download: path, weights format, flags."""
    resolve_name_or_path(str(cfg.get("name_or_path") or ""))
    _hub_kwargs(cfg)


def prepare_hub_access(path: str) -> None:
    """For a hub id: use only the local cache when the hub is unreachable (fail in seconds)."""
    if not Path(path).is_dir() and not hub_reachable()[0]:
        go_offline()


def load_tokenizer(cfg: Mapping[str, Any]) -> PreTrainedTokenizerBase:
    """The model's tokenizer; :class:`ModelError` when it is missing."""
    from transformers import AutoTokenizer

    hub_kwargs = _hub_kwargs(cfg)  # a bad value is a ConfigError of its own, not a load error
    path = resolve_name_or_path(str(cfg.get("name_or_path") or ""))
    prepare_hub_access(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **hub_kwargs)
    except (OSError, ValueError) as err:
        raise ModelError(
            f"model.name_or_path={cfg.get('name_or_path')}: cannot load its tokenizer "
            f"({str(err).splitlines()[0] if str(err) else type(err).__name__})."
        ) from None
    # transformers builds a tokenizer of special tokens only when a folder has no tokenizer
    # files; every word would then be [UNK] and trials would learn nothing, silently.
    if len(tokenizer.get_vocab()) <= len(set(tokenizer.all_special_tokens)):
        raise ModelError(
            f"model.name_or_path={cfg.get('name_or_path')}: no tokenizer in {path} (its "
            "vocabulary holds only special tokens); it must hold the tokenizer files "
            "(tokenizer.json, or vocab.txt, vocab.json + merges.txt, *.model) as written by "
            "tokenizer.save_pretrained()."
        )
    if tokenizer.pad_token is None:
        raise ModelError(
            f"model.name_or_path={cfg.get('name_or_path')}: the tokenizer has no pad token; "
            "dynamic padding needs one."
        )
    return tokenizer


def load_model(
    cfg: Mapping[str, Any], *, num_labels: int, dropout: float | None = None
) -> PreTrainedModel:
    """A sequence-classification model from pretrained safetensors weights.

    A classification head whose shape does not fit ``num_labels`` (a checkpoint fine-tuned for
    another task) is newly initialized, like any missing head.

    Args:
        cfg: The ``model`` config node.
        num_labels: Classes (1 for regression, which makes the loss MSE).
        dropout: Hidden and attention dropout to set; ``None`` keeps the checkpoint's.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = resolve_name_or_path(str(cfg.get("name_or_path") or ""))
    prepare_hub_access(path)
    overrides: dict[str, Any] = {"num_labels": num_labels}
    if num_labels == 1:
        overrides["problem_type"] = "regression"
    layers = cfg.get("num_hidden_layers")
    try:
        config = AutoConfig.from_pretrained(path, **_hub_kwargs(cfg))
        if layers is not None:
            available = getattr(config, "num_hidden_layers", getattr(config, "n_layers", None))
            if (
                isinstance(layers, bool)
                or not isinstance(layers, int)
                or layers < 1
                or (available is not None and layers > available)
            ):
                raise ConfigError(
                    f"model.num_hidden_layers must be an integer in [1, {available}] but got "
                    f"{layers!r}."
                )
            key = "n_layers" if hasattr(config, "n_layers") else "num_hidden_layers"
            overrides[key] = layers
        if dropout is not None:
            for key in (
                "hidden_dropout_prob",
                "attention_probs_dropout_prob",
                "dropout",
                "attention_dropout",
            ):
                if hasattr(config, key):
                    overrides[key] = dropout
        for key, value in overrides.items():
            setattr(config, key, value)
        model = AutoModelForSequenceClassification.from_pretrained(
            path,
            config=config,
            use_safetensors=True,
            ignore_mismatched_sizes=True,
            **_hub_kwargs(cfg),
        )
    except (OSError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ModelError(
            f"model.name_or_path={cfg.get('name_or_path')}: cannot load the model "
            f"({str(err).splitlines()[0] if str(err) else type(err).__name__})."
        ) from None
    model.eval()  # callers switch to train mode when they train
    return model  # type: ignore[no-any-return]
