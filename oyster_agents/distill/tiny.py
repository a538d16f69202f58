"""A tiny random chat model built offline: the training stack's test and benchmark subject.

``make_tiny_model`` trains a byte-level BPE tokenizer on text shipped with this package (the policy
and prompt files), gives it a ChatML template with generation markers, and saves it next to a
randomly initialised ~4M-parameter Llama. Nothing is downloaded; the same seed gives the same files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from oyster_agents.distill.chat_template import chatml_training_template

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>")
THINK_TOKENS = ("<think>", "</think>")
_CORPUS_FILES = ("taxonomy/default.yaml", "prompts/fallbacks.yaml")


def tiny_corpus() -> list[str]:
    """Training text for the tokenizer: the shipped policy, fallbacks, prompt and row template files, line
    by line. Only as sample English for a test tokenizer: nothing here depends on what the text says."""
    root = resources.files("oyster_agents")
    texts = [root.joinpath(name).read_text(encoding="utf-8") for name in _CORPUS_FILES]
    prompts = root.joinpath("prompts")
    texts += [
        entry.read_text(encoding="utf-8")
        for entry in sorted(prompts.iterdir(), key=lambda e: e.name)
        if entry.name.endswith((".md", ".j2"))
    ]
    templates = root.joinpath("distill", "templates")
    texts += [entry.read_text(encoding="utf-8") for entry in sorted(templates.iterdir(), key=lambda e: e.name)
              if entry.name.endswith(".j2")]
    return [line for text in texts for line in text.splitlines() if line.strip()]


def make_tiny_model(
    out_dir: str | Path,
    seed: int = 0,
    *,
    vocab_size: int = 1024,
    hidden_size: int = 256,
    num_layers: int = 4,
    max_positions: int = 1024,
) -> Path:
    """Build and save a tiny random Llama with a trained BPE tokenizer and a ChatML template.

    Args:
        out_dir: folder to write (created); holds config, weights, tokenizer and chat template.
        seed: seed of the weight initialisation.
        vocab_size: BPE vocabulary target (the corpus may yield fewer tokens).
        hidden_size: model width; the MLP is three times wider.
        num_layers: transformer blocks.
        max_positions: longest sequence the model accepts.

    Returns:
        ``out_dir`` as a ``Path``, loadable with ``AutoModelForCausalLM`` / ``AutoTokenizer`` offline.

    Example:
        >>> path = make_tiny_model(tmp_path / "tiny")
        >>> AutoModelForCausalLM.from_pretrained(path).num_parameters()  # about 3.8M
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(tiny_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|pad|>", bos_token=None, unk_token=None
    )
    tokenizer.add_tokens(list(THINK_TOKENS))
    tokenizer.chat_template = chatml_training_template()
    tokenizer.model_max_length = max_positions

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=3 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=max_positions,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
