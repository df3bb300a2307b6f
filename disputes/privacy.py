"""Personal information in logs (个人信息保护法): log lines carry lengths and masked ids, never what
a consumer wrote, and no logged value can start a new line.

Call sites log `mask_id(sender_id)` and `len(text)` instead of the id and the text; the
`MaskingFilter` installed by every process (web app, worker, action server) is the safety net:
it masks mobile and ID-card numbers that still reach a message and escapes line breaks and other
control characters, so a value cannot forge a log line of its own.
"""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# C0/C1 control characters and the Unicode line and paragraph separators; tab stays readable.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r"}
_ID_PREFIX = re.compile(r"^([a-z]{1,8}[-:])")


def mask_text(text: str) -> str:
    """Mask mainland mobile numbers (138****1234) and resident ID numbers in free text."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_id(value: object) -> str:
    """A conversation id, openid or message key as a log line may show it: the channel prefix and
    the first four characters (「web-3f2a…」, 「wx-oUse…」), enough to follow one conversation
    through the log, not enough to address the consumer."""
    s = escape_controls("" if value is None else str(value))
    m = _ID_PREFIX.match(s)
    prefix = m.group(1) if m else ""
    rest = s[len(prefix):]
    return prefix + (rest[:4] + "…" if len(rest) > 4 else rest)


def escape_controls(text: str) -> str:
    """Line breaks as \\n and \\r, other control characters as \\xNN / \\uNNNN."""
    def one(m: re.Match[str]) -> str:
        ch = m.group(0)
        return _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")

    return _CONTROL.sub(one, text)


def log_safe(text: str) -> str:
    """What the log filter makes of a message: personal numbers masked, control characters escaped."""
    return escape_controls(mask_text(text))


class MaskingFilter(logging.Filter):
    """Rewrites every record's message with personal numbers masked and line breaks escaped
    (tracebacks, which the formatter adds, keep their lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the handler's to report
            return True
        safe = log_safe(message)
        if safe != message:
            record.msg, record.args = safe, None
        return True


def install_log_masking() -> None:
    """Put the filter on the root logger and on each of its handlers (records of child loggers
    reach the handlers without passing the root logger's own filters)."""
    root = logging.getLogger()
    if not any(isinstance(f, MaskingFilter) for f in root.filters):
        root.addFilter(MaskingFilter())
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
