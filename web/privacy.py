"""Masking of personal information before anything reaches a log line. The home of these helpers
is `disputes.privacy` (the worker and the action server log too); this module keeps the web
tier's imports working."""

from __future__ import annotations

from disputes.privacy import MaskingFilter, install_log_masking, log_safe, mask_id, mask_text

__all__ = ["MaskingFilter", "install_log_masking", "log_safe", "mask_id", "mask_text"]
