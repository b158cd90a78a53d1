#!/usr/bin/env python3
"""Regenerate the tiny random-weight model fixtures in this directory.

DEVELOPER TOOL. Never run by the tests or by CI: the tests only read the
committed `<name>.gguf` / `<name>.json` files. See README.md beside this file.

For each tiny model this script
  1. trains a tiny tokenizer (byte-level BPE with the `tokenizers` library for
     the llama-3 / qwen families, a SentencePiece BPE model with byte fallback
     for the gemma / mistral / phi-3 families) on English text found locally,
  2. builds a transformers model with fixed-seed random weights (fp32, eager
     attention) and saves it as a Hugging Face directory,
  3. converts that directory with llama.cpp's `convert_hf_to_gguf.py`
     (`--outtype f32`) into `<name>.gguf`; the converter's BPE pre-tokenizer
     hash check cannot know a freshly trained tokenizer, so the converter is run
     through a tiny wrapper that answers `get_vocab_base_pre` with the family's
     pre-tokenizer name ("llama-bpe" or "qwen2"); nothing else is patched,
  4. runs transformers on fixed token ids and writes `<name>.json`:
     the config, and for each case the prompt ids, the prompt logits and 16
     greedy tokens (transformers `generate`, `do_sample=False`, KV cache on,
     no EOS stopping), plus the logits seen at each greedy step.
  5. optionally (`--check-llama-cpp`) loads each GGUF in llama.cpp (through the
     ctypes bindings shipped in the llama-cpp-python sdist, against the shared
     libraries of the llama.cpp build) and compares prompt logits and greedy
     ids with transformers; the result goes to `llama_cpp_check.json` in the
     work directory (the README quotes it).

Usage (see README.md for the versions used):
    python make_tiny_models.py --llama-cpp /work/ref/llama.cpp \
        --llama-cpp-python /work/ref/llama_cpp_python-0.3.36 \
        --out . --work /tmp/tiny-work --check-llama-cpp

Requirements: torch, transformers (5.x), tokenizers, sentencepiece, protobuf,
numpy; a llama.cpp source tree (for convert_hf_to_gguf.py and gguf-py) and, for
q8_0 and the cross-check, its build (build/bin/llama-quantize, libllama.so).
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch

VOCAB_TARGET = 384          # tokenizer vocabulary size (bytes + merges + specials)
N_GREEDY = 16               # greedy tokens per case
WEIGHT_STD = 0.15           # linear weights
EMBED_STD = 0.25            # token embeddings / lm_head
EMBED_STD_GEMMA = 0.1       # gemma 3 (input embeddings are multiplied by sqrt(hidden) = 8)
NORM_STD = 0.3              # norm weights: 1 + N(0, NORM_STD) (gemma: N(0, NORM_STD), used as 1 + w)
BIAS_STD = 0.2              # q/k/v biases (qwen2)

# ---------------------------------------------------------------- text corpus

CORPUS_FILES = [
    "/usr/share/common-licenses/GPL-3",
    "/usr/share/common-licenses/Apache-2.0",
    os.path.join(os.path.dirname(os.__file__), "LICENSE.txt"),
]


def training_lines() -> list[str]:
    """English text for training the tiny tokenizers (only its statistics matter)."""
    text = ""
    for f in CORPUS_FILES:
        if os.path.isfile(f):
            text += Path(f).read_text(encoding="utf-8", errors="replace") + "\n"
    if len(text) < 10_000:  # fallback: docstrings of a fixed list of stdlib modules
        import importlib
        for m in ["json", "os", "re", "collections", "argparse", "subprocess", "pathlib", "textwrap"]:
            text += (importlib.import_module(m).__doc__ or "") + "\n"
    return [ln for ln in text.splitlines() if ln.strip()]


# ---------------------------------------------------------------- tokenizers

QWEN2_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def make_bpe_tokenizer(out_dir: Path, pattern: str, specials: list[str], bos: str | None, eos: str) -> int:
    """Byte-level BPE (GPT-2 / llama-3 / qwen2 style). Returns the vocabulary size."""
    from tokenizers import Tokenizer, Regex, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_TARGET - len(specials),
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(training_lines(), trainer)
    tok.add_special_tokens(specials)
    kw = {"eos_token": eos}
    if bos is not None:
        kw["bos_token"] = bos
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **kw)
    fast.save_pretrained(str(out_dir))
    return tok.get_vocab_size(with_added_tokens=True)


def make_spm_tokenizer(out_dir: Path, family: str) -> int:
    """SentencePiece BPE with byte fallback. Returns the vocabulary size."""
    import sentencepiece as spm

    if family == "gemma":
        ids = dict(pad_id=0, eos_id=1, bos_id=2, unk_id=3,
                   pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>")
        add_dummy_prefix = False
        tok_cfg = {"tokenizer_class": "GemmaTokenizer", "add_bos_token": True, "add_eos_token": False,
                   "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"}
    else:  # llama-2 / mistral / phi-3
        ids = dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
                   unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>")
        add_dummy_prefix = True
        tok_cfg = {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
                   "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_lines()), model_writer=buf,
        vocab_size=VOCAB_TARGET, model_type="bpe", byte_fallback=True,
        character_coverage=1.0, split_digits=True, add_dummy_prefix=add_dummy_prefix,
        normalization_rule_name="identity", remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True, num_threads=1, minloglevel=2, **ids)
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    n = sp.get_piece_size()
    if family == "phi3":
        # Phi-3 keeps its chat/end tokens as added tokens after the SentencePiece vocabulary; llama.cpp
        # also insists on "<|endoftext|>" existing in any model whose general.name contains "phi3"
        added = ["<|endoftext|>", "<|end|>", "<|user|>", "<|assistant|>"]
        (out_dir / "added_tokens.json").write_text(json.dumps({t: n + i for i, t in enumerate(added)}, indent=1))
        tok_cfg["added_tokens_decoder"] = {str(n + i): {"content": t, "special": True} for i, t in enumerate(added)}
        tok_cfg["eos_token"] = "<|endoftext|>"
        n += len(added)
    (out_dir / "tokenizer.model").write_bytes(buf.getvalue())
    (out_dir / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=1))
    return n


# ---------------------------------------------------------------- models

def model_specs():
    """name -> (transformers class name, tokenizer kind, config kwargs, cases, notes)."""
    from transformers import (Gemma3TextConfig, LlamaConfig, MistralConfig, Phi3Config,
                              Qwen2Config, Qwen3Config)
    common = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4,
                  max_position_embeddings=2048, rms_norm_eps=1e-6, initializer_range=0.1,
                  use_cache=True)
    long_phi_prompt = 264
    specs = {
        "tiny-llama": dict(
            cls="LlamaForCausalLM", cfg_cls=LlamaConfig, tok=("bpe", "llama3"),
            cfg=dict(common, num_hidden_layers=2, num_key_value_heads=2, rope_theta=10000.0,
                     tie_word_embeddings=False, attention_bias=False, mlp_bias=False, hidden_act="silu"),
            prompt_lens=[24, 40]),
        "tiny-mistral": dict(
            cls="MistralForCausalLM", cfg_cls=MistralConfig, tok=("spm", "llama"),
            cfg=dict(common, num_hidden_layers=2, num_key_value_heads=1, rope_theta=10000.0,
                     sliding_window=8, tie_word_embeddings=False, hidden_act="silu"),
            prompt_lens=[24, 40]),
        "tiny-qwen2": dict(
            cls="Qwen2ForCausalLM", cfg_cls=Qwen2Config, tok=("bpe", "qwen2"),
            cfg=dict(common, num_hidden_layers=2, num_key_value_heads=2, rope_theta=1000000.0,
                     tie_word_embeddings=True, use_sliding_window=False, hidden_act="silu"),
            prompt_lens=[24, 40]),
        "tiny-qwen3": dict(
            cls="Qwen3ForCausalLM", cfg_cls=Qwen3Config, tok=("bpe", "qwen2"),
            cfg=dict(common, num_hidden_layers=2, num_key_value_heads=2, head_dim=32, rope_theta=1000000.0,
                     tie_word_embeddings=True, attention_bias=False, use_sliding_window=False,
                     hidden_act="silu"),
            prompt_lens=[24, 40]),
        "tiny-gemma3": dict(
            cls="Gemma3ForCausalLM", cfg_cls=Gemma3TextConfig, tok=("spm", "gemma"),
            cfg=dict(common, num_hidden_layers=6, num_key_value_heads=1, head_dim=24,
                     query_pre_attn_scalar=16, sliding_window=8,
                     rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                      "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}},
                     tie_word_embeddings=True, hidden_activation="gelu_pytorch_tanh",
                     final_logit_softcapping=None, attn_logit_softcapping=None),
            prompt_lens=[24, 40]),
        "tiny-gemma3-scaled": dict(
            cls="Gemma3ForCausalLM", cfg_cls=Gemma3TextConfig, tok=("spm", "gemma"),
            cfg=dict(common, num_hidden_layers=6, num_key_value_heads=1, head_dim=24,
                     query_pre_attn_scalar=24, sliding_window=8,
                     rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                      "full_attention": {"rope_type": "linear", "factor": 8.0,
                                                         "rope_theta": 1000000.0}},
                     tie_word_embeddings=True, hidden_activation="gelu_pytorch_tanh",
                     final_logit_softcapping=None, attn_logit_softcapping=None),
            prompt_lens=[24, 40]),
        "tiny-phi3": dict(
            cls="Phi3ForCausalLM", cfg_cls=Phi3Config, tok=("spm", "phi3"),
            cfg=dict(common, num_hidden_layers=2, num_key_value_heads=2,
                     max_position_embeddings=2048, original_max_position_embeddings=256,
                     rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                                      "partial_rotary_factor": 0.5,
                                      "short_factor": [1.0, 1.1, 1.3, 1.6],
                                      "long_factor": [1.0, 2.0, 4.5, 8.0]},
                     sliding_window=None, tie_word_embeddings=False, hidden_act="silu",
                     resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0),
            prompt_lens=[24, long_phi_prompt]),
    }
    return specs


def special_ids(tok_kind) -> dict:
    kind, fam = tok_kind
    if kind == "bpe":
        return {}
    if fam == "gemma":
        return dict(pad_token_id=0, eos_token_id=1, bos_token_id=2)
    return dict(bos_token_id=1, eos_token_id=2, pad_token_id=0)


def init_weights(model, gemma: bool, seed: int):
    """Fixed-seed normal weights. Gemma 3 (tied embeddings scaled by sqrt(hidden)) gets smaller
    embeddings and larger post-attention / post-feed-forward / final norms, otherwise the scaled
    input embedding dominates the residual stream and greedy decoding just repeats a token."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if "norm" in name:
                w = torch.randn(p.shape, generator=g) * NORM_STD
                if gemma and ("post_" in name or name == "model.norm.weight"):
                    w = w + 1.0          # effective weight (1 + w) around 2
                p.copy_(w if gemma else 1.0 + w)
            elif name.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=g) * BIAS_STD)
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(torch.randn(p.shape, generator=g) * (EMBED_STD_GEMMA if gemma else EMBED_STD))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * WEIGHT_STD)


def build_model(name: str, spec: dict, hf_dir: Path, seed: int):
    import transformers
    hf_dir.mkdir(parents=True, exist_ok=True)
    kind, fam = spec["tok"]
    if kind == "bpe":
        if fam == "qwen2":
            vocab = make_bpe_tokenizer(hf_dir, QWEN2_PAT, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                       bos=None, eos="<|endoftext|>")
        else:
            vocab = make_bpe_tokenizer(hf_dir, LLAMA3_PAT, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
                                       bos="<|begin_of_text|>", eos="<|end_of_text|>")
    else:
        vocab = make_spm_tokenizer(hf_dir, fam)
    cfg_kw = dict(spec["cfg"], vocab_size=vocab)
    if kind == "bpe":
        tj = json.loads((hf_dir / "tokenizer.json").read_text())
        ids = {t["content"]: t["id"] for t in tj["added_tokens"]}
        if fam == "qwen2":
            cfg_kw.update(bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|endoftext|>"], pad_token_id=None)
        else:
            cfg_kw.update(bos_token_id=ids["<|begin_of_text|>"], eos_token_id=ids["<|end_of_text|>"], pad_token_id=None)
    elif fam == "phi3":  # like Phi-3: eos = pad = <|endoftext|>, the first added token
        cfg_kw.update(bos_token_id=1, eos_token_id=vocab - 4, pad_token_id=vocab - 4)
    else:
        cfg_kw.update(special_ids(spec["tok"]))
    config = spec["cfg_cls"](**cfg_kw)
    config._attn_implementation = "eager"
    cls = getattr(transformers, spec["cls"])
    torch.manual_seed(seed)
    model = cls(config).to(torch.float32).eval()
    init_weights(model, gemma=spec["cls"].startswith("Gemma"), seed=seed)
    if getattr(config, "tie_word_embeddings", False):
        model.tie_weights()
    model.save_pretrained(str(hf_dir))
    return model, config


# ---------------------------------------------------------------- conversion

CONVERT_WRAPPER = r'''
import os, sys, runpy
root = os.environ["TINY_LLAMA_CPP"]
sys.path.insert(0, root)
sys.path.insert(1, os.path.join(root, "gguf-py"))
import conversion.base as B
PRE = os.environ["TINY_PRE"]
def get_vocab_base_pre(self, tokenizer):
    # a freshly trained tokenizer has no known chkhsh; answer with the family's pre-tokenizer
    B.logger.info(f"tiny fixtures: tokenizer.ggml.pre forced to {PRE!r}")
    return PRE
for klass in [B.TextModel] + [c for c in B.TextModel.__subclasses__()]:
    if "get_vocab_base_pre" in klass.__dict__:
        klass.get_vocab_base_pre = get_vocab_base_pre
sys.argv = [os.path.join(root, "convert_hf_to_gguf.py")] + sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def convert(hf_dir: Path, out: Path, llama_cpp: Path, pre: str, work: Path) -> str:
    wrapper = work / "convert_wrapper.py"
    wrapper.write_text(CONVERT_WRAPPER)
    env = dict(os.environ, TINY_LLAMA_CPP=str(llama_cpp), TINY_PRE=pre)
    r = subprocess.run([sys.executable, str(wrapper), str(hf_dir), "--outtype", "f32", "--outfile", str(out)],
                       env=env, capture_output=True, text=True)
    log = r.stdout + r.stderr
    if r.returncode != 0:
        raise RuntimeError(f"convert failed for {hf_dir}:\n{log[-4000:]}")
    return log


def gguf_summary(path: Path, llama_cpp: Path) -> dict:
    sys.path.insert(0, str(llama_cpp / "gguf-py"))
    import gguf
    r = gguf.GGUFReader(str(path))
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF."):
            continue
        if k in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"):
            meta[k] = f"[{len(f.data)} entries]"
            continue
        try:
            v = f.contents()
        except Exception:  # noqa: BLE001
            v = "?"
        if isinstance(v, float):
            v = float(np.float32(v))
        meta[k] = v
    tensors = [(t.name, [int(x) for x in t.shape], t.tensor_type.name) for t in r.tensors]
    return {"metadata": meta, "tensors": tensors}


# ---------------------------------------------------------------- reference outputs

def choose_ids(rng: np.random.Generator, n: int, vocab: int, specials: set[int]) -> list[int]:
    out = []
    while len(out) < n:
        t = int(rng.integers(0, vocab))
        if t not in specials:
            out.append(t)
    return out


def top_gap(row: torch.Tensor) -> float:
    v = torch.topk(row, 2).values
    return float(v[0] - v[1])


def topk_pairs(row: torch.Tensor, k: int) -> list:
    v, i = torch.topk(row, k)
    return [[int(a), round(float(b), 5)] for a, b in zip(i, v)]


def reference_case(model, ids: list[int], full_logits: bool) -> dict:
    from transformers import GenerationConfig
    x = torch.tensor([ids])
    with torch.no_grad():
        logits = model(x, use_cache=False).logits[0].float()
        gc = GenerationConfig(max_new_tokens=N_GREEDY, do_sample=False, eos_token_id=None, bos_token_id=None,
                              pad_token_id=0, use_cache=True)
        out = model.generate(x, attention_mask=torch.ones_like(x), generation_config=gc,
                             return_dict_in_generate=True, output_logits=True)
        greedy = out.sequences[0, len(ids):].tolist()
        step_logits = [s[0].float() for s in out.logits]
        # the same greedy decode without a KV cache (full forward per step)
        seq = list(ids)
        nocache = []
        for _ in range(N_GREEDY):
            row = model(torch.tensor([seq]), use_cache=False).logits[0, -1]
            t = int(torch.argmax(row))
            nocache.append(t)
            seq.append(t)
    assert len(greedy) == N_GREEDY, greedy
    case = {"ids": ids, "n_prompt": len(ids)}
    if full_logits:
        case["logits"] = [[round(float(v), 5) for v in row] for row in logits]
    else:
        case["logits_argmax"] = [int(torch.argmax(r)) for r in logits]
        case["logits_top10"] = [topk_pairs(r, 10) for r in logits]
        case["logits_last"] = [round(float(v), 5) for v in logits[-1]]
    case["greedy_ids"] = greedy
    case["greedy_step_top5"] = [topk_pairs(r, 5) for r in step_logits]
    case["greedy_ids_without_cache"] = nocache
    case["greedy_cache_matches_no_cache"] = greedy == nocache
    case["min_top2_gap_prompt"] = round(min(top_gap(r) for r in logits), 5)
    case["min_top2_gap_greedy"] = round(min(top_gap(r) for r in step_logits), 5)
    return case


# ---------------------------------------------------------------- llama.cpp cross-check

CHECK_SNIPPET = r'''
import json, os, sys
import numpy as np
sys.path.insert(0, os.environ["TINY_LLAMA_CPP_PYTHON"])
import llama_cpp
req = json.loads(sys.stdin.read())
res = []
for case in req["cases"]:
    ids = case["ids"]
    llm = llama_cpp.Llama(model_path=req["gguf"], n_ctx=case["n_ctx"], n_batch=512, n_ubatch=512,
                          n_threads=2, n_threads_batch=2, logits_all=True, verbose=False,
                          flash_attn=False, seed=0, type_k=0, type_v=0)  # f32 KV cache (default f16 costs ~1e-2)
    llm.eval(ids)
    scores = np.array(llm.scores[:len(ids)], dtype=np.float32)
    greedy = []
    for _ in range(case["n_greedy"]):
        t = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        greedy.append(t)
        llm.eval([t])
    res.append({"prompt_logits": scores.tolist(), "greedy_ids": greedy})
    del llm
print(json.dumps(res))
'''


def llama_cpp_run(gguf_path: Path, cases: list[dict], n_ctxs: list[int], llama_cpp: Path,
                  llama_cpp_python: Path):
    """Prompt logits and greedy ids from llama.cpp (ctypes bindings of the llama-cpp-python sdist)."""
    env = dict(os.environ, TINY_LLAMA_CPP_PYTHON=str(llama_cpp_python),
               LLAMA_CPP_LIB_PATH=str(llama_cpp / "build" / "bin"))
    req = {"gguf": str(gguf_path), "cases": [{"ids": c["ids"], "n_ctx": n, "n_greedy": N_GREEDY}
                                             for c, n in zip(cases, n_ctxs)]}
    r = subprocess.run([sys.executable, "-c", CHECK_SNIPPET], input=json.dumps(req), env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def compare(cases_ids: list[list[int]], ref_logits: list[np.ndarray], ref_greedy: list[list[int]],
            got: list[dict], n_ctxs: list[int]) -> list[dict]:
    out = []
    for ids, ref, rg, g, n in zip(cases_ids, ref_logits, ref_greedy, got, n_ctxs):
        lc = np.array(g["prompt_logits"], dtype=np.float32)
        diff = np.abs(lc - ref)
        rows = diff.max(axis=1)
        bad = [i for i, x in enumerate(rows) if x > 1e-3]
        out.append({
            "n_prompt": len(ids), "n_ctx": n,
            "prompt_logits_max_abs_diff": float(diff.max()),
            "first_prompt_row_over_1e-3": bad[0] if bad else None,
            "prompt_logits_max_abs_diff_per_row": [float(f"{x:.2e}") for x in rows],
            "prompt_argmax_equal": bool((lc.argmax(1) == ref.argmax(1)).all()),
            "greedy_ids_transformers": rg,
            "greedy_ids_llama_cpp": g["greedy_ids"],
            "greedy_equal": rg == g["greedy_ids"],
            "first_greedy_mismatch": next((i for i, (a, b) in enumerate(zip(rg, g["greedy_ids"])) if a != b), None),
        })
    return out


# Known semantic differences of llama.cpp: the same weights re-run in transformers with these config
# overrides should match llama.cpp if nothing else differs.
LLAMA_CPP_SEMANTICS = {
    # the converter writes no llama.attention.sliding_window and llama.cpp's llama arch has no SWA
    "tiny-mistral": {"sliding_window": None},
    # the converter writes no query_pre_attn_scalar; llama.cpp scales by 1/sqrt(head_dim)
    # (1/sqrt(n_embd/n_head) only for the 62-layer 27B model)
    "tiny-gemma3": {"query_pre_attn_scalar": 24},
}


def transformers_variant(hf_dir: Path, cls_name: str, overrides: dict, cases_ids: list[list[int]]):
    import transformers
    cls = getattr(transformers, cls_name)
    model = cls.from_pretrained(str(hf_dir), dtype=torch.float32, attn_implementation="eager", **overrides).eval()
    logits, greedy = [], []
    with torch.no_grad():
        for ids in cases_ids:
            logits.append(model(torch.tensor([ids]), use_cache=False).logits[0].float().numpy())
            seq, out = list(ids), []
            for _ in range(N_GREEDY):
                t = int(torch.argmax(model(torch.tensor([seq]), use_cache=False).logits[0, -1]))
                out.append(t)
                seq.append(t)
            greedy.append(out)
    return logits, greedy


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", type=Path, required=True, help="llama.cpp source tree (with build/ for q8_0 and the check)")
    ap.add_argument("--llama-cpp-python", type=Path, help="unpacked llama-cpp-python sdist (ctypes bindings) for --check-llama-cpp")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--work", type=Path, default=Path("/tmp/tiny-models-work"))
    ap.add_argument("--only", nargs="*", help="model names to (re)build")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--check-llama-cpp", action="store_true")
    ap.add_argument("--full-logits-max-rows", type=int, default=64,
                    help="cases with more prompt tokens store argmax + top-10 + last row instead of full logits")
    args = ap.parse_args()
    torch.set_num_threads(2)
    import transformers
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    specs = model_specs()
    names = args.only or list(specs)
    summary = {}
    checks = {}
    check_file = args.work / "llama_cpp_check.json"
    if check_file.exists():
        checks = json.loads(check_file.read_text())
    for mi, name in enumerate(names):
        spec = specs[name]
        seed = args.seed + 1000 * list(specs).index(name)
        hf_dir = args.work / name
        if hf_dir.exists():
            shutil.rmtree(hf_dir)
        print(f"== {name}", flush=True)
        model, config = build_model(name, spec, hf_dir, seed)
        pre = {"qwen2": "qwen2", "llama3": "llama-bpe"}.get(spec["tok"][1], "default")
        gguf_path = args.out / f"{name}.gguf"
        conv_log = convert(hf_dir, gguf_path, args.llama_cpp, pre, args.work)
        (args.work / f"{name}.convert.log").write_text(conv_log)
        V = config.vocab_size
        specials = {i for i in [config.bos_token_id, config.eos_token_id, getattr(config, "pad_token_id", None)]
                    if isinstance(i, int)}
        if spec["tok"][0] == "bpe":
            specials |= set(range(V - 3, V))
        else:
            specials |= set(range(0, 4))
            if spec["tok"][1] == "phi3":
                specials |= set(range(V - 4, V))
        rng = np.random.default_rng(seed)
        cases = []
        ref_logits = []
        for n in spec["prompt_lens"]:
            ids = choose_ids(rng, n, V, specials)
            case = reference_case(model, ids, full_logits=n <= args.full_logits_max_rows)
            with torch.no_grad():
                ref_logits.append(model(torch.tensor([ids]), use_cache=False).logits[0].float().numpy())
            cases.append(case)
            print(f"   case n={n}: greedy={case['greedy_ids']} cache==nocache {case['greedy_cache_matches_no_cache']}"
                  f" gaps {case['min_top2_gap_prompt']} {case['min_top2_gap_greedy']}", flush=True)
        cfg_dict = config.to_dict()
        doc = {
            "name": name,
            "transformers_class": spec["cls"],
            "generator": "make_tiny_models.py",
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
            "seed": seed,
            "dtype": "float32",
            "attn_implementation": "eager",
            "gguf": gguf_path.name,
            "logits_format": "each case has `logits` [T][V] (rounded to 5 decimals), or, for long prompts, "
                             "`logits_argmax` [T], `logits_top10` [T][10][id, logit] and `logits_last` [V]",
            "config": cfg_dict,
            "cases": cases,
        }
        summary[name] = gguf_summary(gguf_path, args.llama_cpp)
        if args.check_llama_cpp:
            n_ctxs = []
            for c in cases:
                need = len(c["ids"]) + N_GREEDY
                n_ctxs.append(max(256, int(math.ceil(need / 256.0)) * 256))
            cases_ids = [c["ids"] for c in cases]
            try:
                got = llama_cpp_run(gguf_path, cases, n_ctxs, args.llama_cpp, args.llama_cpp_python)
                checks[name] = {"vs_transformers": compare(cases_ids, ref_logits, [c["greedy_ids"] for c in cases],
                                                           got, n_ctxs)}
                if name in LLAMA_CPP_SEMANTICS:
                    ov = LLAMA_CPP_SEMANTICS[name]
                    vl, vg = transformers_variant(hf_dir, spec["cls"], ov, cases_ids)
                    checks[name]["variant_overrides"] = ov
                    checks[name]["vs_transformers_variant"] = compare(cases_ids, vl, vg, got, n_ctxs)
                    for c, l, g in zip(cases, vl, vg):
                        c["llama_cpp_semantics"] = {
                            "what": "transformers on the same weights with these config overrides, "
                                    "i.e. what llama.cpp computes from this GGUF (checked to ~1e-5)",
                            "config_overrides": ov,
                            "logits_argmax": [int(x) for x in l.argmax(1)],
                            "logits_last": [round(float(v), 5) for v in l[-1]],
                            "greedy_ids": g,
                        }
            except RuntimeError as e:
                checks[name] = {"error": str(e)}
            for key in ("vs_transformers", "vs_transformers_variant"):
                for r in checks[name].get(key, []):
                    print(f"   llama.cpp {key} n={r['n_prompt']} n_ctx={r['n_ctx']}: max|dlogit|={r['prompt_logits_max_abs_diff']:.2e}"
                          f" first row>1e-3={r['first_prompt_row_over_1e-3']} greedy_equal={r['greedy_equal']}"
                          f" first_mismatch={r['first_greedy_mismatch']}", flush=True)
            if "error" in checks[name]:
                print("   llama.cpp check error:", checks[name]["error"][-800:])
            check_file.write_text(json.dumps(checks, indent=1))
        (args.out / f"{name}.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        # q8_0 variant of qwen2 through llama-quantize
        if name == "tiny-qwen2":
            q = args.llama_cpp / "build" / "bin" / "llama-quantize"
            if q.exists():
                qout = args.out / "tiny-qwen2-q8_0.gguf"
                r = subprocess.run([str(q), str(gguf_path), str(qout), "q8_0"], capture_output=True, text=True)
                (args.work / "tiny-qwen2-q8_0.quantize.log").write_text(r.stdout + r.stderr)
                if r.returncode == 0:
                    summary["tiny-qwen2-q8_0"] = gguf_summary(qout, args.llama_cpp)
                    if args.check_llama_cpp:
                        try:
                            got = llama_cpp_run(qout, cases, n_ctxs, args.llama_cpp, args.llama_cpp_python)
                            cmp_q = compare(cases_ids, ref_logits, [c["greedy_ids"] for c in cases], got, n_ctxs)
                            checks["tiny-qwen2-q8_0"] = {"vs_transformers": cmp_q}
                            # llama.cpp's own outputs on the q8_0 file (it also quantizes activations
                            # to q8_0 for these dot products), for tests of a q8_0 path
                            qdoc = {
                                "name": "tiny-qwen2-q8_0", "gguf": qout.name,
                                "what": "llama.cpp's outputs on tiny-qwen2-q8_0.gguf (same prompts as tiny-qwen2.json; "
                                        "f32 KV cache, no flash attention, 2 threads); the fp32 transformers "
                                        "reference is tiny-qwen2.json",
                                "llama_cpp": "llama-cpp-python 0.3.36 sdist's vendored llama.cpp",
                                "cases": [],
                            }
                            for c, g, cq in zip(cases, got, cmp_q):
                                lg = torch.tensor(g["prompt_logits"])
                                qdoc["cases"].append({
                                    "ids": c["ids"],
                                    "logits_argmax": [int(torch.argmax(r)) for r in lg],
                                    "logits_top10": [topk_pairs(r, 10) for r in lg],
                                    "logits_last": [round(float(v), 5) for v in lg[-1]],
                                    "greedy_ids": g["greedy_ids"],
                                    "vs_transformers_fp32": {k: cq[k] for k in (
                                        "prompt_logits_max_abs_diff", "prompt_argmax_equal",
                                        "first_greedy_mismatch")},
                                })
                            (args.out / "tiny-qwen2-q8_0.json").write_text(
                                json.dumps(qdoc, separators=(",", ":")) + "\n")
                        except RuntimeError as e:
                            checks["tiny-qwen2-q8_0"] = {"error": str(e)}
                        check_file.write_text(json.dumps(checks, indent=1))
                else:
                    print("   llama-quantize failed:", r.stderr[-500:])
    sfile = args.work / "gguf_summary.json"
    old = json.loads(sfile.read_text()) if sfile.exists() else {}
    old.update(summary)
    sfile.write_text(json.dumps(old, indent=1, default=str))
    print("summary:", sfile)


if __name__ == "__main__":
    main()
