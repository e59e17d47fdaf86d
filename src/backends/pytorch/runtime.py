"""bench's PyTorch runtime: one process per instance.

src/backends/pytorch/index.ts starts it inside the instance's pinned child, so it inherits that
child's CPUs and memory binding (numactl/taskset bind a process and everything it starts). It reads
one JSON request per line on stdin and writes one JSON reply per line on the stdout it was started
with; whatever a library prints goes to stderr, so it can never corrupt a reply.

Requests, in order: `load` (threads, the module, its weights, eager or TorchScript, fp32 or int8),
then any number of `prepare` (inputs of one shape, kept under an id), `run` (one forward over
prepared inputs, timed here with the monotonic clock around the module call alone), `loop` (the
latency scenario's timed window: calls until a duration and a count are reached, each timed alike),
`output` (the last hidden state, for the agreement tests), `stats` (the process's peak RSS), and
`exit`.

It dies with the process that started it (PR_SET_PDEATHSIG): when the launcher stops or kills an
instance's child, no torch process is left spinning on the instance's CPUs.

The module is bench's own BERT / RoBERTa / DistilBERT encoder with the Hugging Face parameter names
and the operations of the Hugging Face modules (eager attention, erf GELU, BERT's -10000 additive
mask, DistilBERT's masked_fill), so it loads the weights bench synthesized (exported from the ONNX
graph, same values) and a Hugging Face checkpoint of those model types alike.
"""

import array
import base64
import ctypes
import faulthandler
import json
import contextlib
import math
import mmap
import os
import resource
import struct
import sys
import time
import traceback


class UserFacingError(Exception):
    """A problem of the model or settings the user gave: reported without a Python stack."""


def reply_channel():
    """The stdout bench reads replies from; fd 1 then points at stderr for everything else.
    Buffered, flushed after each reply: a reply is written whole even when a write is cut short."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def die_with_parent():
    """SIGKILL this process when the one that started it ends, however it ends (Linux); then
    check the parent once, in case it ended before the request took effect."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: stdin's EOF still ends the loop once the parent is gone
    if os.getppid() != parent:
        os._exit(1)


# --------------------------------------------------------------------------------------------
# Weights


# safetensors dtype -> (torch dtype name, bytes per element)
SAFETENSORS_DTYPES = {"F32": ("float32", 4), "F16": ("float16", 2), "BF16": ("bfloat16", 2), "F64": ("float64", 8)}


def read_safetensors(path):
    import torch

    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        # Mapped copy-on-write rather than read: the pages come from the page cache as the weights
        # are copied into the module, with no second copy in this process's own memory.
        whole = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    data = memoryview(whole)[8 + header_len :]
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        known = SAFETENSORS_DTYPES.get(spec["dtype"])
        if known is None:
            continue  # integer buffers (e.g. position_ids) are not parameters we need
        dtype, itemsize = known
        begin, end = spec["data_offsets"]
        if end > len(data) or begin > end:
            raise UserFacingError(f"{name} lies beyond the end of the file: the file is truncated; download it again")
        t = torch.frombuffer(data, dtype=getattr(torch, dtype), count=(end - begin) // itemsize, offset=begin)
        tensors[name] = t.reshape(spec["shape"]).float()
    return tensors


def read_weights(path):
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    import inspect

    import torch

    # A pickle runs code when it is loaded: only torch's restricted loader, never the plain one.
    if "weights_only" not in inspect.signature(torch.load).parameters:
        raise UserFacingError(
            f"this torch ({torch.__version__}) cannot load pytorch_model.bin safely (no weights_only); "
            "convert the folder to model.safetensors or use torch >= 1.13"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.float() for k, v in state.items() if hasattr(v, "is_floating_point") and v.is_floating_point()}


# --------------------------------------------------------------------------------------------
# The encoder


@contextlib.contextmanager
def no_init(nn):
    """Modules built without their random initialization, which the weights loaded next replace
    (what Hugging Face's no_init_weights does): a large model starts seconds sooner."""
    kinds = (nn.Linear, nn.Embedding, nn.LayerNorm)
    saved = [k.reset_parameters for k in kinds]
    for k in kinds:
        k.reset_parameters = lambda self: None
    try:
        yield
    finally:
        for k, f in zip(kinds, saved):
            k.reset_parameters = f


def build_encoder(arch):
    import torch
    from torch import nn
    import torch.nn.functional as F

    kind = arch["model_type"]
    hidden = arch["hidden_size"]
    heads = arch["num_attention_heads"]
    head_size = hidden // heads
    eps = arch["layer_norm_eps"]
    pad = arch["pad_token_id"]
    distil = kind == "distilbert"
    lowest = torch.finfo(torch.float32).min

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.query = nn.Linear(hidden, hidden)
            self.key = nn.Linear(hidden, hidden)
            self.value = nn.Linear(hidden, hidden)
            self.attention_output = nn.Linear(hidden, hidden)
            self.attention_norm = nn.LayerNorm(hidden, eps=eps)
            self.intermediate = nn.Linear(hidden, arch["intermediate_size"])
            self.output = nn.Linear(arch["intermediate_size"], hidden)
            self.output_norm = nn.LayerNorm(hidden, eps=eps)

        def split(self, x):
            b, s, _ = x.shape
            return x.view(b, s, heads, head_size).transpose(1, 2)

        def forward(self, x, mask):
            b, s, _ = x.shape
            q = self.split(self.query(x))
            k = self.split(self.key(x))
            v = self.split(self.value(x))
            if distil:
                scores = torch.matmul(q / math.sqrt(head_size), k.transpose(-1, -2))
                scores = scores.masked_fill(mask, lowest)
            else:
                scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(head_size) + mask
            context = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, s, hidden)
            attended = self.attention_norm(self.attention_output(context) + x)
            return self.output_norm(self.output(F.gelu(self.intermediate(attended))) + attended)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(arch["vocab_size"], hidden)
            self.position_embeddings = nn.Embedding(arch["max_position_embeddings"], hidden)
            self.token_type_embeddings = None if distil else nn.Embedding(arch["type_vocab_size"], hidden)
            self.embedding_norm = nn.LayerNorm(hidden, eps=eps)
            self.layers = nn.ModuleList([Layer() for _ in range(arch["num_hidden_layers"])])

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            b, s = input_ids.shape
            if kind == "roberta":
                # create_position_ids_from_input_ids: non-pad tokens count up from pad + 1.
                not_pad = input_ids.ne(pad).long()
                positions = torch.cumsum(not_pad, dim=1) * not_pad + pad
            else:
                positions = torch.arange(s, dtype=torch.long, device=input_ids.device).unsqueeze(0).expand(b, s)
            x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
            if self.token_type_embeddings is not None:
                types = token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)
                x = x + self.token_type_embeddings(types)
            x = self.embedding_norm(x)
            if distil:
                mask = (attention_mask == 0).view(b, 1, 1, s)
            else:
                mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
            for layer in self.layers:
                x = layer(x, mask)
            return x

    with no_init(nn):
        return Encoder()


def hf_names(arch):
    """bench's parameter -> the Hugging Face name (without the model prefix), as in the checkpoints."""
    kind = arch["model_type"]
    names = {
        "word_embeddings.weight": "embeddings.word_embeddings.weight",
        "position_embeddings.weight": "embeddings.position_embeddings.weight",
        "embedding_norm.weight": "embeddings.LayerNorm.weight",
        "embedding_norm.bias": "embeddings.LayerNorm.bias",
    }
    if kind != "distilbert":
        names["token_type_embeddings.weight"] = "embeddings.token_type_embeddings.weight"
    for i in range(arch["num_hidden_layers"]):
        if kind == "distilbert":
            base = f"transformer.layer.{i}"
            modules = {
                "query": "attention.q_lin",
                "key": "attention.k_lin",
                "value": "attention.v_lin",
                "attention_output": "attention.out_lin",
                "attention_norm": "sa_layer_norm",
                "intermediate": "ffn.lin1",
                "output": "ffn.lin2",
                "output_norm": "output_layer_norm",
            }
        else:
            base = f"encoder.layer.{i}"
            modules = {
                "query": "attention.self.query",
                "key": "attention.self.key",
                "value": "attention.self.value",
                "attention_output": "attention.output.dense",
                "attention_norm": "attention.output.LayerNorm",
                "intermediate": "intermediate.dense",
                "output": "output.dense",
                "output_norm": "output.LayerNorm",
            }
        for ours, theirs in modules.items():
            for p in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{p}"] = f"{base}.{theirs}.{p}"
    return names


# Older checkpoints call LayerNorm's parameters gamma and beta.
LEGACY = {".LayerNorm.weight": ".LayerNorm.gamma", ".LayerNorm.bias": ".LayerNorm.beta"}
# The word embeddings are tied to the language-model head's decoder; a checkpoint saved with the
# tie may keep only the head's copy.
TIED = ["cls.predictions.decoder.weight", "lm_head.decoder.weight", "vocab_projector.weight"]


def load_weights(model, arch, weights):
    import torch

    prefix = arch["model_type"] + "."
    state = {}
    missing = []
    for ours, theirs in hf_names(arch).items():
        candidates = [theirs, prefix + theirs]
        for old, new in LEGACY.items():
            if theirs.endswith(old):
                legacy = theirs[: -len(old)] + new
                candidates += [legacy, prefix + legacy]
        if theirs == "embeddings.word_embeddings.weight":
            candidates += TIED
        found = next((weights[c] for c in candidates if c in weights), None)
        if found is None:
            missing.append(prefix + theirs)
            continue
        state[ours] = found
    if missing:
        raise UserFacingError(
            f"the weights lack {len(missing)} parameters a {arch['model_type']} encoder needs, e.g. {missing[0]}"
        )
    expected = model.state_dict()
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise UserFacingError(
                f"{hf_names(arch)[name]} has shape {list(tensor.shape)}, the config says {list(expected[name].shape)}"
            )
    with torch.no_grad():
        model.load_state_dict(state, strict=True)


# --------------------------------------------------------------------------------------------
# Requests


class Runtime:
    def __init__(self):
        self.model = None
        self.inputs = {}
        self.grad = None
        self.facts = {}

    def context(self):
        import torch

        return torch.inference_mode() if self.grad == "inference_mode" else torch.no_grad()

    def load(self, msg):
        t0 = time.perf_counter()
        import torch

        import_s = time.perf_counter() - t0
        torch.set_num_threads(msg["threads"])
        torch.set_num_interop_threads(msg["interop_threads"])
        self.grad = msg["grad"]
        arch = msg["arch"]  # checked by bench (backends/pytorch/model.ts) before any instance starts
        model = build_encoder(arch).eval()
        t1 = time.perf_counter()
        try:
            weights = read_weights(msg["weights"])
        except UserFacingError:
            raise
        except Exception as e:  # a file torch or the reader cannot parse
            raise UserFacingError(f"cannot read the weights {msg['weights']}: {type(e).__name__}: {e}")
        load_weights(model, arch, weights)
        del weights
        read_s = time.perf_counter() - t1
        engine = None
        if msg["dtype"] == "int8":
            engine = pick_quantized_engine(torch)
            q = torch.ao.quantization
            # Per tensor by default, as ONNX Runtime's dynamic quantization; per channel on request.
            qconfig = q.per_channel_dynamic_qconfig if msg.get("per_channel") else q.default_dynamic_qconfig
            model = q.quantize_dynamic(model, {torch.nn.Linear: qconfig}, dtype=torch.qint8)
        t2 = time.perf_counter()
        if msg["mode"] == "torchscript":
            model = self.script(torch, model, arch, msg)
        self.model = model
        compile_s = time.perf_counter() - t2
        self.facts = {
            "torch_version": torch.__version__,
            "mode": msg["mode"],
            "grad": self.grad,
            "dtype": msg["dtype"],
            "quantized_engine": engine,
            "per_channel": bool(msg.get("per_channel")) if msg["dtype"] == "int8" else None,
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "import_ms": import_s * 1e3,
            "weights_ms": read_s * 1e3,
            "script_ms": compile_s * 1e3 if msg["mode"] == "torchscript" else None,
        }
        return {"ok": True, "facts": self.facts}

    def script(self, torch, model, arch, msg):
        """TorchScript: trace on a small example (sizes are traced symbolically, so other shapes run
        the same graph), freeze (parameters become constants), then torch's inference passes. The
        profiling executor optimizes the graph over its first calls: they run here, on the example,
        so that no measured call (warm-up_runs=0 included) pays for it."""
        s = min(8, arch["max_position_embeddings"] - (arch["pad_token_id"] + 1 if arch["model_type"] == "roberta" else 0))
        ids = torch.full((1, s), 5 if arch["vocab_size"] > 5 else arch["vocab_size"] - 1, dtype=torch.long)
        mask = torch.ones((1, s), dtype=torch.long)
        example = (ids, mask) if arch["model_type"] == "distilbert" else (ids, mask, torch.zeros_like(ids))
        with torch.no_grad():
            traced = torch.jit.trace(model, example, check_trace=False)
            frozen = torch.jit.freeze(traced.eval())
            if msg["optimize"]:
                frozen = torch.jit.optimize_for_inference(frozen)
        with self.context():
            for _ in range(3):
                frozen(*example)
        return frozen

    def prepare(self, msg):
        import torch

        tensors = []
        for name in ("input_ids", "attention_mask", "token_type_ids"):
            feed = msg["inputs"].get(name)
            if feed is None:
                continue
            tensors.append(torch.tensor(feed["data"], dtype=torch.long).reshape(feed["dims"]))
        self.inputs[msg["id"]] = tuple(tensors)
        return {"ok": True}

    def run(self, msg):
        inputs = self.inputs[msg["id"]]
        model = self.model
        with self.context():
            t0 = time.perf_counter_ns()
            model(*inputs)
            ns = time.perf_counter_ns() - t0
        return {"ns": ns}

    def loop(self, msg):
        """The latency scenario's timed window, run here: calls until both the duration and the call
        count are reached, each timed around the module call alone, as bench's own loop does."""
        inputs = self.inputs[msg["id"]]
        model = self.model
        duration_ns = msg["duration_ns"]
        min_calls = msg["min_calls"]
        times = []
        clock = time.perf_counter_ns
        with self.context():
            start_epoch_ns = time.time_ns()
            start = clock()
            end = start
            while end - start < duration_ns or len(times) < min_calls:
                t0 = clock()
                model(*inputs)
                end = clock()
                times.append(end - t0)
        return {"ns": times, "window_ns": end - start, "start_epoch_ns": start_epoch_ns}

    def output(self, msg):
        with self.context():
            out = self.model(*self.inputs[msg["id"]]).contiguous()
        # Through a Python array rather than numpy, which torch does not require (tests only: small).
        data = array.array("f", out.float().flatten().tolist()).tobytes()
        return {"dims": list(out.shape), "data": base64.b64encode(data).decode("ascii")}

    def stats(self, _msg):
        # ru_maxrss is in KiB on Linux.
        return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def pick_quantized_engine(torch):
    engines = torch.backends.quantized.supported_engines
    for engine in ("fbgemm", "x86", "onednn", "qnnpack"):
        if engine in engines:
            torch.backends.quantized.engine = engine
            return engine
    raise UserFacingError(f"this torch has no quantized engine for int8 (it has {engines}); use model.dtype=fp32")


def main():
    die_with_parent()
    faulthandler.enable()  # a crash in torch's native code leaves its Python stack in stderr's tail
    out = reply_channel()
    runtime = Runtime()
    handlers = {
        "load": runtime.load,
        "prepare": runtime.prepare,
        "run": runtime.run,
        "loop": runtime.loop,
        "output": runtime.output,
        "stats": runtime.stats,
    }
    for line in sys.stdin.buffer:
        msg = json.loads(line)
        op = msg.get("op")
        if op == "exit":
            break
        try:
            reply = handlers[op](msg)
        except UserFacingError as e:
            reply = {"error": str(e), "user": True}
        except Exception as e:  # bench's own bug, or torch's: the stack goes to stderr
            traceback.print_exc()
            reply = {"error": f"{type(e).__name__}: {e}", "user": False}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
