"""Logging filters: request lines in access logs lose their OAuth codes and states, so a log
reader cannot replay an authorization code that has not been exchanged yet."""

import logging
import re

_QUERY_SECRET = re.compile(
    r"(?<=[?&])(code|state|code_verifier|access_token|refresh_token|token)=[^&\s\"]*",
    re.IGNORECASE,
)


def redact_query(text: str) -> str:
    return _QUERY_SECRET.sub(r"\1=[redacted]", text)


class RedactQuerySecrets(logging.Filter):
    """Rewrites the record's message with authorization codes and the like masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a record that cannot be formatted is logged as it is
        redacted = redact_query(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
