"""Case service of the ODR assistant: cases, negotiation with platforms, escalation, 12315 export.

Used by the chat actions and the web app. See `disputes/API.md` for the public functions.
"""
