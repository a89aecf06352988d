"""Eager PyTorch peer of SelfAlign's benchmarks: the Llama computation as Hugging Face's
LlamaForCausalLM runs it in eager mode (separate q/k/v and gate/up linears, rotate-half RoPE,
repeated KV heads, matmul attention with a float32 softmax, a concatenated KV cache, float32
RMSNorm), and a DPO step with PEFT-style LoRA adapters, on the weights of a Hugging Face folder.

    python3 eager_llama.py MODEL_FOLDER WORK.json THREADS > RESULTS.json

WORK.json lists token ids for each task; every task present is timed and reported in seconds.
Needs only torch (1.13 or later) and the standard library.
"""
import glob
import json
import math
import struct
import sys
import time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = bytearray(f.read())
    dtypes = {"BF16": torch.bfloat16, "F32": torch.float32, "F16": torch.float16}
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        flat = torch.frombuffer(data[start:end], dtype=dtypes[spec["dtype"]]) if end > start else torch.empty(0)
        tensors[name] = flat.reshape(spec["shape"]).clone()
    return tensors


class Lora(torch.nn.Module):
    """PEFT's LoRA delta: dropout(x) @ A^T @ B^T * alpha / r, in float32 beside a bf16 base."""

    def __init__(self, d_in, d_out, rank, alpha, dropout):
        super().__init__()
        self.a = torch.nn.Parameter(torch.empty(rank, d_in))
        torch.nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
        self.b = torch.nn.Parameter(torch.zeros(d_out, rank))
        self.scale, self.dropout = alpha / rank, dropout

    def forward(self, x):
        x = F.dropout(x.float(), self.dropout, self.training)
        return x @ self.a.t() @ self.b.t() * self.scale


class Llama:
    def __init__(self, folder):
        self.c = json.load(open(f"{folder}/config.json"))
        self.w = {}
        for path in sorted(glob.glob(f"{folder}/*.safetensors")):
            self.w.update(load_safetensors(path))
        c = self.c
        self.heads, self.kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
        self.head_dim = c.get("head_dim") or c["hidden_size"] // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c["rms_norm_eps"]
        inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        self.inv_freq = inv
        self.head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])
        self.lora = None

    def add_lora(self, rank, alpha, dropout):
        self.lora = {}
        for i in range(self.layers):
            for name in ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                         "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]:
                out_f, in_f = self.w[f"model.layers.{i}.{name}.weight"].shape
                self.lora[f"{i}.{name}"] = Lora(in_f, out_f, rank, alpha, dropout)
        return [p for m in self.lora.values() for p in m.parameters()]

    def linear(self, x, layer, name):
        y = F.linear(x, self.w[f"model.layers.{layer}.{name}.weight"])
        if self.lora is not None:
            y = y + self.lora[f"{layer}.{name}"](x).to(y.dtype)
        return y

    def rms(self, x, weight):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return weight * x.to(dtype)

    def rope(self, positions, dtype):
        freqs = positions.float()[:, :, None] * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype)[:, None], emb.sin().to(dtype)[:, None]

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def forward(self, ids, cache=None, last_only=False):
        """ids [b, t]; cache: a list of (k, v) per layer, extended by concatenation."""
        b, t = ids.shape
        past = 0 if cache is None or not cache else cache[0][0].shape[2]
        x = F.embedding(ids, self.w["model.embed_tokens.weight"])
        positions = torch.arange(past, past + t)[None].expand(b, t)
        cos, sin = self.rope(positions, x.dtype)
        mask = None
        if t > 1:
            mask = torch.full((t, past + t), float("-inf"), dtype=x.dtype).triu(past + 1)[None, None]
        groups = self.heads // self.kv_heads
        for i in range(self.layers):
            p = f"model.layers.{i}."
            h = self.rms(x, self.w[p + "input_layernorm.weight"])
            q = self.linear(h, i, "self_attn.q_proj").view(b, t, self.heads, self.head_dim).transpose(1, 2)
            k = self.linear(h, i, "self_attn.k_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            v = self.linear(h, i, "self_attn.v_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if cache is not None:
                if len(cache) > i:
                    k = torch.cat([cache[i][0], k], dim=2)
                    v = torch.cat([cache[i][1], v], dim=2)
                    cache[i] = (k, v)
                else:
                    cache.append((k, v))
            k = k[:, :, None].expand(b, self.kv_heads, groups, k.shape[2], self.head_dim).reshape(b, self.heads, -1, self.head_dim)
            v = v[:, :, None].expand(b, self.kv_heads, groups, v.shape[2], self.head_dim).reshape(b, self.heads, -1, self.head_dim)
            scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores + mask
            probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
            attn = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, -1)
            x = x + self.linear(attn, i, "self_attn.o_proj")
            h = self.rms(x, self.w[p + "post_attention_layernorm.weight"])
            x = x + self.linear(F.silu(self.linear(h, i, "mlp.gate_proj")) * self.linear(h, i, "mlp.up_proj"), i, "mlp.down_proj")
        x = self.rms(x, self.w["model.norm.weight"])
        if last_only:
            x = x[:, -1:]
        return F.linear(x, self.head).float()


def best(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def decode_seconds(model, prompts, steps):
    cache = []
    token = model.forward(torch.tensor(prompts), cache, last_only=True).argmax(-1)
    start = time.perf_counter()
    for _ in range(steps):
        token = model.forward(token, cache).argmax(-1)
    return (time.perf_counter() - start) / steps


def dpo_step_seconds(model, pairs, steps, beta=0.1):
    params = model.add_lora(16, 32, 0.05)
    for m in model.lora.values():
        m.train()
    optimizer = torch.optim.AdamW(params, lr=5e-6)

    def logps(seq, prompt_len):
        ids = torch.tensor([seq])
        logits = model.forward(ids[:, :-1])
        logp = torch.log_softmax(logits[0, prompt_len - 1:], -1)
        return logp.gather(1, ids[0, prompt_len:, None]).sum()

    times = []
    for pair in pairs[:steps]:
        start = time.perf_counter()
        n = len(pair["prompt"])
        chosen = logps(pair["prompt"] + pair["chosen"], n)
        rejected = logps(pair["prompt"] + pair["rejected"], n)
        loss = -F.logsigmoid(beta * ((chosen - pair["ref_chosen"]) - (rejected - pair["ref_rejected"])))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - start)
    model.lora = None
    return min(times[1:]) if len(times) > 1 else times[0]


def main():
    folder, work_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    model = Llama(folder)
    work = json.load(open(work_path))
    out = {"torch": torch.__version__}
    with torch.no_grad():
        for key in ["prefill128", "prefill512"]:
            if key in work:
                ids = torch.tensor([work[key]])
                out[key] = best(lambda: model.forward(ids, last_only=True), 4)
        for key in ["decode1", "decode8"]:
            if key in work:
                out[key] = min(decode_seconds(model, work[key], work["steps"]) for _ in range(2))
        if "judge" in work:
            labels = torch.tensor(work["labels"])
            start = time.perf_counter()
            scores = []
            for ids in work["judge"]:
                logp = torch.log_softmax(model.forward(torch.tensor([ids]), last_only=True)[0, -1], -1)[labels]
                scores.append(logp.tolist())
            out["judge"] = time.perf_counter() - start
            out["judge_logprobs"] = scores
    if "dpo" in work:
        out["dpo"] = dpo_step_seconds(model, work["dpo"], len(work["dpo"]))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
