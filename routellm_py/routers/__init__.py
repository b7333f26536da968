"""Router implementations, found by name through the registry in `base`."""

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
