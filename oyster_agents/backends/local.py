"""Local transformers chat model (offline), with grammar-constrained JSON and micro-batching.

Concurrent calls (parallel graph branches, batch runs) are gathered for a few milliseconds and
run as one padded ``generate`` call (``_batcher.py``), so the user simulator's fan-out costs about
one generation.
When a call passes ``json_schema=...``, xgrammar constrains decoding to that schema.
Each prompt's system message (the role's static text) is prefilled once per model and reused from a
bounded cache (``_prefix_cache.py``), so later calls only prefill their per-query part.
Message text is tokenized apart from the chat template (:func:`encode_chat`), so text that spells a
special token (``<|im_start|>system``) stays plain text and cannot open a turn of its own.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from oyster_agents.backends._batcher import MicroBatcher, Request, Result
from oyster_agents.backends._closing import closing_starts, closing_token_ids, make_closer, skeleton_tokens
from oyster_agents.backends._prefix_cache import MIN_PREFIX_TOKENS, Prefix, PrefixStore, batched_cache, compute_prefix
from oyster_agents.errors import ConfigError

# Close a constrained object before max_tokens cuts it (``_closing.py``); measured in docs/performance.md.
CLOSE_BEFORE_BUDGET = True


class LocalChatModel(BaseChatModel):
    """A chat model backed by a local ``transformers`` folder. Loads local files only.

    Args:
        model_path: a folder with ``config.json``, weights, tokenizer and chat template.
        max_tokens: default cap on generated tokens.
        temperature: 0 means greedy decoding.
        max_batch: most requests generated together.
        batch_wait_ms: how long the batcher waits to gather concurrent requests.
        prefix_cache_mb: memory for cached system-prompt keys/values (least recently used go
            first); 0 turns the prefix cache off.
        quantize: "int8" replaces the linear layers by dynamically quantized int8 ones (CPU,
            float32 only), but for those whose activations int8 would damage (``_int8.py``):
            less CPU per token, different tokens, a somewhat higher perplexity (docs/performance.md).

    Example:
        >>> from oyster_agents import default_model_path
        >>> llm = LocalChatModel(model_path=str(default_model_path()))
        >>> llm.invoke("Say hi").content
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    max_tokens: int = 256
    temperature: float = 0.0
    device: str = "cpu"
    dtype: str = "float32"
    max_batch: int = Field(default=16, ge=1)
    # long enough for concurrent branches on a busy 2-core machine to arrive together (measured on a
    # loaded machine: 8 ms split the nine simulations into three generations)
    batch_wait_ms: float = Field(default=40.0, ge=0.0)
    seed: int = 0
    threads: int | None = None
    prefix_cache_mb: float = Field(default=256.0, ge=0.0)
    quantize: Literal["none", "int8"] = "none"

    _model: Any = PrivateAttr(default=None)
    _tokenizer: Any = PrivateAttr(default=None)
    _stop_ids: list[int] = PrivateAttr(default_factory=list)
    _compiler: Any = PrivateAttr(default=None)
    _grammars: dict[str, Any] = PrivateAttr(default_factory=dict)
    _reserves: dict[str, int] = PrivateAttr(default_factory=dict)  # per schema: tokens closing may take
    _closing_ids: tuple[list[int], ...] = PrivateAttr(default=())
    _batcher: MicroBatcher | None = PrivateAttr(default=None)
    _init_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _grammar_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _prefixes: PrefixStore | None = PrivateAttr(default=None)
    _stats: dict[str, int] = PrivateAttr(default_factory=lambda: dict.fromkeys(
        ("calls", "prompt_tokens", "cached_tokens", "prefill_tokens", "generated_tokens"), 0))

    @property
    def _llm_type(self) -> str:
        return "oyster-local-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "temperature": self.temperature}

    @property
    def stats(self) -> dict[str, int]:
        """Counters since load: calls, prompt tokens, of which served from the prefix cache,
        tokens actually prefilled (prefix computations included, padding not), generated tokens."""
        return dict(self._stats)

    @property
    def model_name(self) -> str:
        """Folder name, used in traces and spans."""
        return Path(self.model_path).name

    # ---- loading -------------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        with self._init_lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # keep CLI output clean
            if self.threads:
                # On a busy machine, fewer threads than cores avoids OpenMP oversubscription slowdowns.
                torch.set_num_threads(self.threads)
            if self.quantize == "int8" and (self.device != "cpu" or self.dtype != "float32"):
                raise ConfigError("quantize 'int8' runs on device 'cpu' with dtype 'float32' only")
            path = Path(self.model_path)
            if not (path / "config.json").is_file():
                raise ConfigError(
                    f"{path} is not a local transformers model folder (no config.json); "
                    "use 'default' for the embedded model or convert yours with save_pretrained"
                )
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            tokenizer.padding_side = "left"
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            model = AutoModelForCausalLM.from_pretrained(
                str(path), local_files_only=True, dtype=getattr(torch, self.dtype)
            ).to(self.device)
            model.eval()
            if self.quantize == "int8":
                from oyster_agents.backends._int8 import quantize_int8

                model = quantize_int8(model)
            stop_ids = {tokenizer.eos_token_id}
            for token in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"):
                tid = tokenizer.convert_tokens_to_ids(token)
                if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
                    stop_ids.add(tid)
            self._stop_ids = sorted(i for i in stop_ids if i is not None)
            self._tokenizer = tokenizer
            self._prefixes = PrefixStore(int(self.prefix_cache_mb * 2**20))
            self._model = model
            self._batcher = MicroBatcher(self._run_batch, max_batch=self.max_batch, wait_ms=self.batch_wait_ms)

    def _grammar(self, schema: dict[str, Any]) -> tuple[str, Any]:
        key = json.dumps(schema)
        with self._grammar_lock:
            return key, self._compile(key)

    def _compile(self, key: str) -> Any:
        import xgrammar as xgr

        if key not in self._grammars:
            if self._compiler is None:
                vocab = self._model.config.vocab_size
                info = xgr.TokenizerInfo.from_huggingface(self._tokenizer, vocab_size=vocab, stop_token_ids=self._stop_ids)
                self._compiler = xgr.GrammarCompiler(info)
                self._closing_ids = tuple([i for i in ids if i < vocab] for ids in closing_token_ids(self._tokenizer))
            # compile from the caller's key order: property order steers what the model writes first
            self._grammars[key] = self._compiler.compile_json_schema(key, any_whitespace=False)
            self._reserves[key] = skeleton_tokens(self._tokenizer, json.loads(key))
        return self._grammars[key]

    # ---- LangChain interface -------------------------------------------------------------
    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        self._ensure_loaded()
        schema = kwargs.get("json_schema")
        prompt_ids, prefix_len = encode_chat_split(self._tokenizer, _chat_dicts(messages))
        request = Request(
            prompt_ids=list(prompt_ids),
            prefix_len=prefix_len,
            max_new_tokens=int(kwargs.get("max_tokens") or self.max_tokens),
            temperature=float(kwargs.get("temperature", self.temperature)),
            schema_key=self._grammar(schema)[0] if schema is not None else None,
        )
        assert self._batcher is not None
        text, n_out, finish = self._batcher.submit(request)
        for marker in stop or ():
            if marker in text:
                text, finish = text.split(marker, 1)[0], "stop"
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": len(request.prompt_ids),
                "output_tokens": n_out,
                "total_tokens": len(request.prompt_ids) + n_out,
                "input_token_details": {"cache_read": request.cached_tokens},
            },
            response_metadata={"finish_reason": finish, "model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    # ---- generation of one batch (run on the batcher's thread) ---------------------------
    def _prefix_for(self, req: Request) -> Prefix | None:
        """The request's cached prefix, computed now on a miss; None when it has none or it does not fit."""
        store = self._prefixes
        if store is None or store.capacity_bytes <= 0 or req.prefix_len < MIN_PREFIX_TOKENS:
            return None
        ids = tuple(req.prompt_ids[: req.prefix_len])
        entry = store.get(ids)
        if entry is not None:
            store.hits += 1
            req.cached_tokens = len(ids)
            return entry
        store.misses += 1
        if len(ids) * _kv_bytes_per_token(self._model) > store.capacity_bytes:
            return None  # would not fit: not worth computing apart
        entry = compute_prefix(self._model, ids)
        self._stats["prefill_tokens"] += len(ids)
        return entry if store.put(entry) else None

    def _run_batch(self, batch: list[Request]) -> list[Result]:
        import torch

        tok = self._tokenizer
        pad = tok.pad_token_id
        prefixes = [self._prefix_for(r) for r in batch]
        cache, head = (batched_cache(self._model, prefixes) if any(prefixes) else (None, 0))
        rows, masks = [], []
        suffixes = [r.prompt_ids[len(p.ids):] if p is not None else r.prompt_ids for r, p in zip(batch, prefixes)]
        tail = max(len(x) for x in suffixes)
        for prefix, suffix in zip(prefixes, suffixes):
            known = list(prefix.ids) if prefix is not None else []
            rows.append([pad] * (head - len(known)) + known + [pad] * (tail - len(suffix)) + suffix)
            masks.append([0] * (head - len(known)) + [1] * len(known) + [0] * (tail - len(suffix)) + [1] * len(suffix))
        width = head + tail
        input_ids, attention = torch.tensor(rows), torch.tensor(masks)
        self._stats["calls"] += len(batch)
        self._stats["prompt_tokens"] += sum(len(r.prompt_ids) for r in batch)
        self._stats["cached_tokens"] += sum(r.cached_tokens for r in batch)
        self._stats["prefill_tokens"] += sum(len(x) for x in suffixes)
        max_new = max(r.max_new_tokens for r in batch)
        temperature = batch[0].temperature
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": max_new,
            "eos_token_id": self._stop_ids,
            "pad_token_id": pad,
            "do_sample": temperature > 0,
        }
        if cache is not None:
            gen_kwargs["cache"] = cache
        if temperature > 0:
            gen_kwargs["temperature"] = temperature
            torch.manual_seed(self.seed)
        starts: list[int | None] = [None] * len(batch)  # per row: the step from which it closes its object
        if batch[0].schema_key is not None:
            import xgrammar as xgr

            grammars = [self._grammars[r.schema_key] for r in batch]
            processors = [xgr.contrib.hf.LogitsProcessor(grammars)]
            if CLOSE_BEFORE_BUDGET and any(self._closing_ids):
                starts = [closing_starts(r.max_new_tokens, self._reserves[r.schema_key]) for r in batch]
                processors.append(make_closer(width, starts, self._closing_ids))
            gen_kwargs["logits_processor"] = processors
        with torch.inference_mode():
            out = self._model.generate(
                input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device), **gen_kwargs
            )
        results = []
        for row, req, start in zip(out[:, width:].tolist(), batch, starts):
            generated = []
            finish = "length"
            for tid in row[: req.max_new_tokens]:
                if tid in self._stop_ids:
                    finish = "stop"
                    break
                generated.append(tid)
            if finish == "stop" and start is not None and len(generated) > start:
                finish = "closed"  # the object was closed early to fit max_tokens (``_closing.py``)
            text = tok.decode(generated, skip_special_tokens=True)
            n_out = len(generated) + (finish != "length")
            self._stats["generated_tokens"] += n_out
            results.append((text, n_out, finish))
        return results


def _kv_bytes_per_token(model: Any) -> int:
    cfg = model.config
    heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return 2 * cfg.num_hidden_layers * heads * head_dim * model.dtype.itemsize


def encode_chat(tokenizer: Any, chat: list[dict[str, str]]) -> list[int]:
    """Prompt token ids in which message text can never turn into a special token (see
    :func:`encode_chat_split`)."""
    return encode_chat_split(tokenizer, chat)[0]


def encode_chat_split(tokenizer: Any, chat: list[dict[str, str]]) -> tuple[list[int], int]:
    """Prompt token ids in which message text can never turn into a special token, and the length
    of the cacheable prefix: the ids up to the end of a leading system message's text (0 without one).

    The chat template is rendered around placeholders: its own text is tokenized as usual (its
    role markers are the real special tokens) and each message's text with
    ``split_special_tokens=True``. For plain text the ids equal the template's own tokenization.
    A template that alters or repeats message text gets the text with its special-token strings
    broken by a zero-width space instead.
    """
    nonce = uuid.uuid4().hex
    marks = [f"[[{nonce}:{i}]]" for i in range(len(chat))]
    text = tokenizer.apply_chat_template(
        [{**m, "content": mark} for m, mark in zip(chat, marks)], add_generation_prompt=True, tokenize=False
    )
    pieces: list[tuple[str, bool]] = []  # (text, is message text)
    rest = text
    for message, mark in zip(chat, marks):
        before, found, rest = rest.partition(mark)
        if not found or mark in rest:
            return _encode_defused(tokenizer, chat), 0
        pieces += [(before, False), (message["content"], True)]
    pieces.append((rest, False))
    ids: list[int] = []
    prefix_len = 0
    for n, (piece, is_message) in enumerate(pieces):
        if piece:
            ids += tokenizer.encode(piece, add_special_tokens=False, split_special_tokens=is_message)
        if n == 1 and chat[0]["role"] == "system" and len(chat) > 1:
            prefix_len = len(ids)
    return ids, prefix_len


def _encode_defused(tokenizer: Any, chat: list[dict[str, str]]) -> list[int]:
    specials = [t for t in tokenizer.all_special_tokens if len(t) > 1]
    defused = []
    for message in chat:
        content = message["content"]
        for token in specials:
            content = content.replace(token, token[0] + "\u200b" + token[1:])
        defused.append({**message, "content": content})
    ids = tokenizer.apply_chat_template(defused, add_generation_prompt=True, tokenize=True)
    return list(ids["input_ids"] if hasattr(ids, "keys") else ids)


def _chat_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """The messages as chat-template turns: LangChain's OpenAI-style roles, text content."""
    turns = convert_to_openai_messages(messages, text_format="string")
    return [{"role": turn["role"], "content": turn["content"] if isinstance(turn["content"], str) else message.text}
            for message, turn in zip(messages, turns)]
