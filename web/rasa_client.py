"""Client for the Rasa server's REST channel: the only way the web tier talks to the dialogue."""

from __future__ import annotations

from dataclasses import dataclass

import requests


class RasaUnavailable(RuntimeError):
    """The dialogue server did not answer in time."""


@dataclass
class RasaClient:
    base_url: str
    timeout: float = 30.0

    def send(self, sender_id: str, text: str) -> list[dict]:
        """Send one user message; returns the bot's messages (text and optional buttons)."""
        try:
            resp = requests.post(
                f"{self.base_url.rstrip('/')}/webhooks/rest/webhook",
                json={"sender": sender_id, "message": text},
                timeout=self.timeout,
            )
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise RasaUnavailable(str(exc)) from exc
        return [
            {"text": m.get("text", ""), "buttons": m.get("buttons") or []}
            for m in resp.json()
            if m.get("text") or m.get("buttons")
        ]
