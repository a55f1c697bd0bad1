"""The error a service raises when a request is understood but refused."""


class ApplicationError(Exception):
    """A business rule refused the operation; `message` is fit to show a user.

    `extra` may carry field names mapped to messages, so that interfaces can point at the field.
    """

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
