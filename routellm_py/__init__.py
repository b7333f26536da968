"""routellm-py: train, evaluate and serve LLM routers.

Importing this package is light: heavy libraries (torch, transformers, litellm)
load only when a router or the Controller that needs them is used.
"""

from __future__ import annotations

from typing import Any

from routellm_py._version import __version__
from routellm_py.routers.base import (
    Router,
    available_routers,
    get_router_class,
    load_router,
    register,
)

__all__ = [
    "Controller",
    "Router",
    "available_routers",
    "get_router_class",
    "load_router",
    "register",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name == "Controller":
        from routellm_py.controller import Controller

        return Controller
    raise AttributeError(f"module 'routellm_py' has no attribute {name!r}")
