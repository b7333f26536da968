"""Router implementations and their base classes (`base`: contract, registry, checkpoint
I/O; `embedding`: encoder-based routers; `hf`: fine-tuned transformers, served through
`hf_models`, `label_lm` and `routellm_py.hf_text`), found by name through the registry in `base`.

Serving never imports the lab: a router module imports `routellm_py.training` only inside
`fit` and other training-only methods (tests/routers/test_layering.py checks it)."""

from routellm_py.routers.base import (
    CheckpointError,
    Router,
    available_routers,
    checkpoint_roots,
    find_checkpoint,
    get_router_class,
    load_router,
    register,
    validate_prompts,
    validate_threshold,
)

__all__ = [
    "CheckpointError",
    "Router",
    "available_routers",
    "checkpoint_roots",
    "find_checkpoint",
    "get_router_class",
    "load_router",
    "register",
    "validate_prompts",
    "validate_threshold",
]
