"""Write a training engine's weights as a Hugging Face directory without a second full copy of the model.

The usual way (gather a full state dict, build a fresh model on rank 0, load and save it) holds the model three
times on rank 0 at the end of a ZeRO-3 run: its partitions, the gathered state dict and the new model. Here
tensors are gathered one at a time (a collective under ZeRO-3: every rank calls this), and rank 0 streams them
into safetensors shards of at most `shard_bytes`, with the index `from_pretrained` reads. Under ZeRO 0-2 every
rank already holds whole tensors, which are written as they are (no copy where the dtype already matches).
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from judge_ray import storage

SHARD_BYTES = 1 << 30  # 1 GiB: rank 0's extra memory at export
TRAINING_RECORD = "judge_ray_training.json"  # written into the exported model directory


def _named_tensors(module) -> Iterator[tuple[str, object]]:
    """What `state_dict` holds, each storage once: parameters (a tied head is written once, under the name
    transformers ties from) then persistent buffers."""
    keys = set(module.state_dict(keep_vars=True).keys())
    yield from ((n, p) for n, p in module.named_parameters() if n in keys)
    yield from ((n, b) for n, b in module.named_buffers() if n in keys)


def write_weights(module, out: Path, rank: int, dtype, partitioned: bool, shard_bytes: int = SHARD_BYTES) -> int:
    """Write `module`'s weights into `out` (rank 0) as HF safetensors shards; returns the parameter count."""
    import torch
    from safetensors.torch import save_file

    if partitioned:
        import deepspeed  # deepspeed.zero is an attribute of the package, not an importable module

        GatheredParameters = deepspeed.zero.GatheredParameters
    shards: list[dict] = []
    current: dict = {}
    size = count = 0

    def flush() -> None:
        nonlocal current, size
        if current and rank == 0:
            name = f"shard-{len(shards):05d}.safetensors"
            save_file(current, str(out / name), metadata={"format": "pt"})
            shards.append({"file": name, "keys": list(current)})
        current, size = {}, 0

    for name, tensor in _named_tensors(module):
        if partitioned and hasattr(tensor, "ds_id"):
            with GatheredParameters([tensor], modifier_rank=None):
                full = tensor.data.detach().to(dtype).cpu().clone() if rank == 0 else None
                numel = tensor.ds_numel
        else:
            full = tensor.detach().to(dtype).contiguous() if rank == 0 else None
            numel = tensor.numel()
        if isinstance(tensor, torch.nn.Parameter):
            count += numel
        if rank == 0:
            current[name] = full
            size += full.numel() * full.element_size()
            if size >= shard_bytes:
                flush()
    flush()
    if rank == 0:
        _name_shards(out, shards)
    return count


def _name_shards(out: Path, shards: list[dict]) -> None:
    """HF's names: one `model.safetensors`, or `model-0000i-of-0000n.safetensors` with an index."""
    if len(shards) == 1:
        (out / shards[0]["file"]).rename(out / "model.safetensors")
        return
    weight_map, total = {}, 0
    for i, shard in enumerate(shards, 1):
        final = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        (out / shard["file"]).rename(out / final)
        total += (out / final).stat().st_size
        weight_map.update(dict.fromkeys(shard["keys"], final))
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


def export_model(engine, partitioned: bool, model_path: str, model_config, tokenizer, export_dir: str, rank: int,
                 dtype, record: dict, say: Callable[[str], None]) -> float:
    """The trained weights as a HF directory, written by rank 0 tensor by tensor (a collective under ZeRO-3:
    every rank calls this), with the model's config, generation config, tokenizer and the training `record`,
    into a temporary directory renamed into place when complete; returns the seconds it took (this rank's)."""
    from transformers import GenerationConfig

    exporting = time.time()
    out, remote = storage.location(export_dir), storage.is_remote(export_dir)
    # written on this node's disk first: renamed into place, or uploaded whole to an object store
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=None if remote else out.parent)) if rank == 0 else None
    count = write_weights(engine.module, tmp, rank, dtype, partitioned=partitioned)
    if rank != 0:
        return time.time() - exporting
    config = copy.deepcopy(model_config)  # the one the model was built from; only the copy is changed
    config.use_cache = True
    config.dtype = dtype
    config.save_pretrained(tmp)
    try:
        GenerationConfig.from_pretrained(model_path).save_pretrained(tmp)
    except OSError:
        pass
    tokenizer.save_pretrained(tmp)
    (tmp / TRAINING_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    if remote:
        storage.upload_dir(tmp, out)
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        storage.rmtree(out)
        os.replace(tmp, out)
    elapsed = time.time() - exporting
    say(f"[train] exported {count / 1e6:.2f}M parameters to {out} in {elapsed:.1f}s")
    return elapsed
