"""Data-parallel helpers: one training code path, alone or under `torchrun`/`accelerate launch`.

Both launchers export RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; when
WORLD_SIZE > 1 and no process group exists yet we create one (NCCL on GPU, gloo on CPU).
"""

from __future__ import annotations

import os
from typing import Any


def maybe_init_process_group() -> bool:
    """Join the launcher's process group if one is implied by the environment; True if active."""
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def is_distributed() -> bool:
    """True inside an initialised process group (any world size, 1 included)."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def rank_and_world() -> tuple[int, int]:
    """(rank, world_size); (0, 1) outside a process group."""
    import torch.distributed as dist

    if not is_distributed():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def default_device(model: Any) -> Any:
    """Where training runs: the model's device if `device_map` placed it, else this rank's GPU
    (LOCAL_RANK), else CPU."""
    import torch

    if getattr(model, "hf_device_map", None):
        return next(model.parameters()).device
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def all_reduce_sum(values: list[float], device: Any) -> list[float]:
    """Sum floats over all ranks (identity outside a process group)."""
    if not is_distributed():
        return values
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def shard(indices: list[int], n_per_rank: int) -> list[int]:
    """This rank's share of `indices`, padded by wrapping so every rank gets `n_per_rank`
    items and therefore runs the same number of steps (as `DistributedSampler` does).
    A single process keeps `indices` as they are (no duplicates)."""
    rank, world = rank_and_world()
    if world == 1:
        return indices
    need = n_per_rank * world
    padded = (indices * (need // max(len(indices), 1) + 1))[:need]
    return padded[rank::world]


def barrier() -> None:
    """Wait for every rank (no-op outside a process group)."""
    if is_distributed():
        import torch.distributed as dist

        dist.barrier()
