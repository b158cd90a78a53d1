"""Developer tool (never run by tests or CI): greedy generations and top-5 log-probabilities of a
GGUF model by Hugging Face transformers in fp32 (its GGUF loader dequantizes every tensor), on the
prompts of llama.cpp's reference file, in the same layout.

    python3 make_transformers_reference.py MODEL.gguf NAME.llamacpp.json OUT.transformers.json
"""
import json, os, sys
import torch
from transformers import AutoModelForCausalLM
import transformers

gguf, ref_path, out_path = sys.argv[1:4]
torch.manual_seed(0)
model = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(gguf)), gguf_file=os.path.basename(gguf),
                                             dtype=torch.float32)
model.eval()
ref = json.load(open(ref_path))
eos = model.generation_config.eos_token_id
eos = set(eos if isinstance(eos, list) else [eos])
cases = []
for g in ref["generate"]:
    ids = list(g["prompt_ids"])
    new, top5 = [], []
    with torch.no_grad():
        for _ in range(32):
            logp = torch.log_softmax(model(torch.tensor([ids + new])).logits[0, -1].double(), -1)
            v, i = torch.topk(logp, 5)
            top5.append([[int(a), round(float(b), 5)] for a, b in zip(i, v)])
            new.append(int(i[0]))
            if new[-1] in eos:
                break
    cases.append({"prompt": g["prompt"], "prompt_ids": g["prompt_ids"], "greedy_ids": new, "top5_logprobs": top5,
                  "stop_type": "eos" if new[-1] in eos else "limit"})
    print(g["prompt"][:40], "same as llama.cpp" if new == g["greedy_ids"] else "differs from llama.cpp", file=sys.stderr)
json.dump({"model": ref["model"], "sha256": ref["sha256"],
           "reference": f"transformers {transformers.__version__}, torch {torch.__version__}, fp32, GGUF dequantized by transformers; "
                        "greedy (argmax of fp32 logits), at most 32 new tokens, stopping at the model's eos",
           "generate": cases}, open(out_path, "w"), indent=1)
