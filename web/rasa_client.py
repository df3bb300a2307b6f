"""Client for the Rasa server's REST channel: the only way the web tier talks to the dialogue.

Scaled out, several Rasa instances share trackers (SQL) and conversation locks (Redis), so any of
them can answer any conversation; the client spreads conversations over them by sender id and
fails over to the next instance when one is down.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import requests


class RasaUnavailable(RuntimeError):
    """No dialogue server answered in time."""


@dataclass
class RasaClient:
    base_urls: list[str] | str
    timeout: float = 30.0
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.base_urls, str):
            self.base_urls = [u.strip().rstrip("/") for u in self.base_urls.split(",") if u.strip()]
        if not self.base_urls:
            raise ValueError("at least one Rasa URL is required")

    def _order(self, sender_id: str) -> list[str]:
        start = int(hashlib.sha1(sender_id.encode()).hexdigest(), 16) % len(self.base_urls)
        return self.base_urls[start:] + self.base_urls[:start]

    def send(self, sender_id: str, text: str) -> list[dict]:
        """Send one user message; returns the bot's messages (text and optional buttons)."""
        last_error: Exception | None = None
        for base in self._order(sender_id):
            try:
                resp = self._session.post(
                    f"{base}/webhooks/rest/webhook",
                    json={"sender": sender_id, "message": text},
                    timeout=self.timeout,
                )
                resp.raise_for_status()
            except requests.ConnectionError as exc:
                last_error = exc  # instance down: the message never arrived, try the next one
                continue
            except requests.RequestException as exc:
                raise RasaUnavailable(str(exc)) from exc
            return [
                {"text": m.get("text", ""), "buttons": m.get("buttons") or []}
                for m in resp.json()
                if m.get("text") or m.get("buttons")
            ]
        raise RasaUnavailable(str(last_error))
