"""Devices and packing on a tiny random-weight model: every test runs on the CPU, and on CUDA where
there is one (marked ``gpu``; skipped with the reason elsewhere)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import torch

from fusion.config.schema import ModelConfig, QuantizationConfig
from fusion.model import cpu_linear
from fusion.model.cpu_linear import pack_linears
from fusion.model.devices import DeviceError, default_batch_rows, input_device, resolve
from fusion.model.generation import Encoded, greedy
from fusion.model.likelihood import continuation_nll
from fusion.model.loading import load_configured
from fusion.model.random_models import random_model
from fusion.model.reference import reference_means
from fusion.model.steering import capture, steering

HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device on this machine (CI never has one)")
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, needs_cuda])]
STOP = {1}


def prompts(lengths: list[int], vocab: int = 128, seed: int = 0) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(2, vocab, (n,), generator=generator).tolist() for n in lengths]


def left_padded(rows: list[list[int]]) -> Encoded:
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    return Encoded(ids, mask)


def layer_means(model, rows: list[list[int]]) -> torch.Tensor:
    """Per-prompt targets with the model's own scale: ``[prompts, layers, d]``."""
    out = []
    for r in rows:
        with capture(model.model.layers) as outs:
            model(input_ids=torch.tensor([r], device=input_device(model)))
        out.append(torch.stack([o[0].float().mean(0) for o in outs]))
    return torch.stack(out)


def steered(model, rows, targets, strengths, cached, max_new=12, nonfinite=None):
    with steering(model.model.layers, targets, strengths, cached=cached) as session:
        return greedy(
            model,
            left_padded(rows),
            max_new_tokens=max_new,
            stop_ids=STOP,
            session=session,
            use_cache=cached,
            nonfinite_rows=nonfinite,
        )


@pytest.fixture(scope="module")
def tiny_cpu():
    return random_model("tiny", device="cpu")


@pytest.mark.parametrize("device", DEVICES)
def test_the_hook_applies_the_formula_on_the_device(device):
    model = random_model("tiny", device=device)
    rows = prompts([9])
    targets = layer_means(model, prompts([6], seed=1))[0]
    strengths = torch.linspace(0.1, 0.7, len(model.model.layers))[None]
    ids = torch.tensor(rows, device=device)
    with (
        capture(model.model.layers) as raw,
        steering(model.model.layers, targets, strengths),
        capture(model.model.layers) as out,
    ):
        model(input_ids=ids)
    for layer in range(len(model.model.layers)):
        a = raw[layer][0]
        assert a.device.type == device
        expected = a + strengths[0, layer].item() * (targets[layer].to(device) - a.mean(0))
        assert torch.allclose(out[layer][0], expected, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cached", [False, True], ids=["exact", "cached"])
@pytest.mark.parametrize("kernels", ["torch", "onednn"])
def test_packed_prompts_answer_exactly_like_each_prompt_alone(device, cached, kernels):
    """Prompts of different lengths, each with its own targets and strengths, in one left-padded
    batch: the same tokens as each prompt's rows generated on their own (float32), on torch's
    linear kernels and on oneDNN's packed weights (``model.cpu_linear``, CPU only)."""
    if kernels == "onednn" and (device != "cpu" or not cpu_linear.available()):
        pytest.skip("oneDNN-packed weights are for float32 on a CPU whose torch has oneDNN")
    model = random_model("tiny", device=device)
    if kernels == "onednn":
        pack_linears(model)
    rows = prompts([5, 11, 8])
    targets = layer_means(model, prompts([7, 7, 7], seed=2))
    strengths = torch.rand(3, len(model.model.layers), generator=torch.Generator().manual_seed(3))
    packed = steered(model, rows, targets, strengths, cached)
    alone = [steered(model, [r], targets[i : i + 1], strengths[i : i + 1], cached)[0] for i, r in enumerate(rows)]
    assert packed == alone
    assert all(len(set(answer)) > 3 for answer in packed), "answers too uniform for the comparison to mean much"
    unsteered = greedy(model, left_padded(rows), max_new_tokens=12, stop_ids=STOP, use_cache=cached)
    assert unsteered != packed, "the steering changed nothing: the comparison would not test it"


@pytest.mark.parametrize("device", DEVICES)
def test_zero_strengths_leave_the_answer_bit_for_bit_unsteered(device):
    model = random_model("tiny", device=device)
    rows = prompts([6, 9])
    targets = layer_means(model, rows)
    plain = greedy(model, left_padded(rows), max_new_tokens=10, stop_ids=STOP)
    zero = steered(model, rows, targets, torch.zeros(2, len(model.model.layers)), cached=False, max_new=10)
    assert zero == plain


@pytest.mark.parametrize("device", DEVICES)
def test_reference_means_and_perplexity_run_on_the_device(device):
    model = random_model("tiny", device=device)

    class Tokenizer:  # characters as tokens: enough for reference_means and continuation_nll
        pad_token_id = 0

        def __call__(self, text, return_offsets_mapping=False, return_tensors=None):
            ids = [2 + ord(c) % 120 for c in text]
            out = {
                "input_ids": ids,
                "attention_mask": [1] * len(ids),
                "offset_mapping": [(i, i + 1) for i in range(len(text))],
            }
            return {k: torch.tensor([v]) for k, v in out.items()} if return_tensors == "pt" else out

    text = "question? answer."
    means = reference_means(model, Tokenizer(), model.model.layers, text, (10, len(text)))
    assert means.device.type == device and means.dtype == torch.float32
    assert means.shape == (len(model.model.layers), model.config.hidden_size)
    nll = continuation_nll(model, Tokenizer(), "question?", [[5, 6, 7], [], [9]])
    assert all(isinstance(v, float) for v in nll) and nll[1] == float("inf") and nll[0] > 0


def save_tiny_model(directory) -> None:
    """The tiny random model with a word-level tokenizer, as a local Hugging Face directory: what
    ``model.id=<dir>`` loads through the same loader as a hub model (no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, **{f"w{i}": i for i in range(2, 128)}}
    words = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=words, pad_token="<pad>", eos_token="</s>").save_pretrained(directory)
    random_model("tiny").save_pretrained(directory)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["bfloat16", "int8"])
def test_the_loader_puts_bf16_and_int8_weights_on_the_device_and_they_steer(device, precision, tmp_path):
    """The paper ran Gemma-2-2B in 8-bit through bitsandbytes: the loader's int8 and half-precision
    paths, then a steered and a zero-steered answer on what they loaded."""
    int8 = precision == "int8"
    if int8:
        pytest.importorskip("bitsandbytes", reason="quantization=int8 needs bitsandbytes")
    save_tiny_model(tmp_path)
    cfg = ModelConfig(id=str(tmp_path), device=device, dtype="auto" if int8 else precision)
    loaded = load_configured(cfg, QuantizationConfig(name=precision, load_in_8bit=int8), None)
    params = list(loaded.model.parameters())
    assert {p.device.type for p in params} == {device}
    if int8:
        assert torch.int8 in {p.dtype for p in params}, "no int8 weights: bitsandbytes did not quantize"
    else:
        assert {p.dtype for p in params} == {torch.bfloat16}
    model, rows = loaded.model, prompts([6, 9])
    targets = layer_means(model, rows)
    for cached in (False, True):  # with and without the KV cache: low precision rounds them differently
        plain = greedy(model, left_padded(rows), max_new_tokens=8, stop_ids=STOP, use_cache=cached)
        zero = steered(model, rows, targets, torch.zeros(2, loaded.num_layers), cached, max_new=8)
        assert zero == plain, f"zero strengths changed the answer (cached={cached})"
        out = steered(model, rows, targets, torch.full((2, loaded.num_layers), 0.5), cached, max_new=8)
        assert all(out) and out != plain, f"steering changed nothing (cached={cached})"


@pytest.mark.gpu
@needs_cuda
def test_cpu_and_cuda_give_the_same_greedy_tokens_steered_and_unsteered(tiny_cpu):
    # the same weights moved (a model initialised on the GPU draws other random numbers)
    gpu = copy.deepcopy(tiny_cpu).to("cuda")
    rows = prompts([7, 12])
    targets = layer_means(tiny_cpu, rows)
    strengths = torch.full((2, len(tiny_cpu.model.layers)), 0.3)
    for cached in (False, True):
        assert steered(tiny_cpu, rows, targets, strengths, cached) == steered(
            gpu, rows, targets.cuda(), strengths, cached
        )
    assert greedy(tiny_cpu, left_padded(rows), max_new_tokens=12, stop_ids=STOP) == greedy(
        gpu, left_padded(rows), max_new_tokens=12, stop_ids=STOP
    )


@pytest.mark.gpu
@needs_cuda
def test_the_hook_never_waits_for_the_gpu():
    """``set_sync_debug_mode("error")`` turns any host synchronisation into an error: a hook call
    (after the session's one-time set-up and the step's mask) must not make one."""
    model = random_model("tiny", device="cuda")
    layers = model.model.layers
    hidden = torch.randn(4, 9, model.config.hidden_size, device="cuda")
    targets = torch.randn(4, len(layers), model.config.hidden_size)
    with steering(layers, targets, torch.full((4, len(layers)), 0.2), cached=True) as session:
        session.set_mask(torch.ones(4, 9, dtype=torch.long, device="cuda"), torch.arange(4, device="cuda"))
        torch.cuda.set_sync_debug_mode("error")
        try:
            for layer in range(len(layers)):
                session.shift(layer, hidden)
            session.set_mask(None, None)
            for layer in range(len(layers)):
                session.shift(layer, hidden[:, -1:])
        finally:
            torch.cuda.set_sync_debug_mode("default")


def test_auto_resolves_to_what_this_machine_has():
    placement = resolve("auto", "auto")
    if HAS_CUDA:
        assert placement.device.type == "cuda" and placement.dtype in (torch.bfloat16, torch.float16)
    else:
        assert placement.device == torch.device("cpu") and placement.dtype == torch.float32
    assert resolve("cpu", "bfloat16").dtype == torch.bfloat16  # slow on a CPU, but it runs


def test_packs_are_160_rows_but_40_for_exact_decoding_on_a_cpu():
    """A cached pack of 32 prompts runs the CPU's products near their peak; an exact pack is what an
    interrupted job redoes, so on a CPU it stays at 8 prompts (docs/speed.md)."""
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert default_batch_rows(cpu) == 160 and default_batch_rows(cpu, exact=True) == 40
    assert default_batch_rows(cuda) == default_batch_rows(cuda, exact=True) == 160  # a device name only


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA: asking for it is not an error here")
def test_asking_for_a_gpu_on_a_machine_without_one_names_the_fix():
    for device in ("cuda", "cuda:1"):
        with pytest.raises(DeviceError, match=f"model.device={device}: .*use model.device=auto or cpu"):
            resolve(device, "auto")
    with pytest.raises(DeviceError, match="model.device_map=auto .* set model.device_map=null"):
        resolve("auto", "auto", "auto")


def test_rows_that_blow_up_stop_alone_and_are_reported(tiny_cpu):
    rows = prompts([6, 6, 6])
    targets = layer_means(tiny_cpu, rows)
    targets[1] = float("nan")  # row 1's target poisons only row 1
    nonfinite: set[int] = set()
    out = steered(
        tiny_cpu, rows, targets, torch.full((3, len(tiny_cpu.model.layers)), 0.3), cached=False, nonfinite=nonfinite
    )
    assert nonfinite == {1} and out[1] == []
    assert out[0] and out[2]


def test_the_random_weight_benchmark_needs_no_experiment_stack(tmp_path):
    """The GPU benchmark must run where only torch and transformers are installed."""
    out = tmp_path / "bench.json"
    script = (
        "import sys; from fusion.commands.bench import main; "
        f"main(['--random-weights', 'tiny', '--device', 'cpu', '--max-new-tokens', '6', '--json', r'{out}']); "
        "print('HEAVY', [m for m in ('hydra', 'omegaconf', 'mlflow', 'optuna') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "HEAVY []" in result.stdout
    numbers = json.loads(out.read_text())
    for key in (
        "device",
        "device_name",
        "dtype",
        "step_ms_5_rows",
        "step_ms_40_rows",
        "unsteered_step_ms_5_rows",
        "unsteered_step_ms_40_rows",
        "throughput_steered_vs_unsteered_exact",
        "packed_speedup_cached",
        "packed_speedup_exact",
        "study_projected_min_cached_packed",
        "study_projected_min_exact_packed",
    ):
        assert key in numbers
    assert numbers["device"] == "cpu" and numbers["dtype"] == "float32"
    assert numbers["packed_same_answers"] is True
