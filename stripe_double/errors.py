"""Stripe-shaped error answers, on top of localstripe's ``UserError``."""

from localstripe.errors import UserError

from . import API_VERSION


class StripeError(UserError):
    """An error rendered as ``{"error": {type, message, code, param}}``."""

    def __init__(
        self,
        message,
        *,
        status=400,
        code=None,
        param=None,
        error_type="invalid_request_error",
    ):
        contents = {key: value for key, value in (("code", code), ("param", param))}
        super().__init__(status, message, {k: v for k, v in contents.items() if v})
        self.body["error"]["type"] = error_type


def refuse_payment_method_types(params):
    """Refuse ``payment_method_types`` as the endive API version does."""
    if "payment_method_types" in params:
        raise StripeError(
            "The parameter payment_method_types is no longer supported in API "
            f"version {API_VERSION}. Use allowed_payment_method_types and "
            "excluded_payment_method_types instead.",
            code="payment_method_types_no_longer_supported",
            param="payment_method_types",
        )


def unknown_parameters(params):
    """Refuse whatever is left in ``params`` after an operation took its own."""
    if params:
        name = sorted(params)[0]
        raise StripeError(
            f"Received unknown parameter: {name}",
            code="parameter_unknown",
            param=name,
        )


def no_such(kind, object_id, param="id"):
    return StripeError(
        f"No such {kind}: '{object_id}'",
        status=404,
        code="resource_missing",
        param=param,
    )
