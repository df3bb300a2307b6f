"""Start the Rasa CLI (`rasa run …`) with one performance fix for Rasa 3.6 applied first.

    .venv-rasa/bin/python bot/rasa_server.py run --model … --endpoints …

Rasa 3.6 checks every action server response with `jsonschema.validate(response, schema)`.
That call validates the constant response *schema* against the JSON Schema 2020-12 meta-schema
before validating the response, every time: about 35 ms of CPU per custom action call here,
40% of the Rasa server's CPU in a profile of complaint-form conversations. The fix checks the
schema once, at start-up, and validates each response with the same validator class and the
same error (best match, same message), so behaviour is unchanged and only the repeated schema
check is gone. Everything else is the unmodified `rasa` command.
"""

from __future__ import annotations

import sys


def apply_response_validation_fix() -> None:
    from jsonschema import ValidationError, validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, as every call used to do
    validator = cls(schema)

    def _validate_action_result(self, result: dict) -> bool:
        error: ValidationError | None = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result


def main() -> int:
    apply_response_validation_fix()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
