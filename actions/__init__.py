"""Custom Rasa actions: thin glue between the dialogue and the knowledge / case packages."""

from disputes.privacy import install_log_masking

# rasa_sdk has set up its log handlers before it imports the actions: mask what they write.
install_log_masking()
