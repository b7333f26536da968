"""Feedback on routed responses: the durable store (`store`) and its use as training
battles (`battles`, the `feedback:URL` data source)."""

from routellm_py.feedback.store import FeedbackError, FeedbackStore, parse_feedback

__all__ = ["FeedbackError", "FeedbackStore", "parse_feedback"]
