"""Custom Rasa actions: thin glue between the dialogue and the knowledge / case packages."""
