"""Route chat completions between a strong and a weak model (Python API and server core).

`Controller` mirrors the OpenAI client (`controller.chat.completions.create`), parses router
model strings (`router-mf-0.116`, `router-mf-s0.3`) and calls models through litellm.
"""

from routellm_py.controller.calls import ModelEndpoint, UpstreamError
from routellm_py.controller.core import Controller
from routellm_py.controller.messages import routing_text, validate_messages
from routellm_py.controller.model_string import RouteSpec, RoutingError, parse_model_string
from routellm_py.controller.routing import RouterSet, load_routers

__all__ = [
    "Controller",
    "ModelEndpoint",
    "RouteSpec",
    "RouterSet",
    "RoutingError",
    "UpstreamError",
    "load_routers",
    "parse_model_string",
    "routing_text",
    "validate_messages",
]
