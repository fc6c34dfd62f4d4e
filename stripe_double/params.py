"""Reading request parameters (form-encoded strings) and answering lists."""

import operator

from .errors import StripeError

COMPARISONS = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def coerce(value):
    """``'true'``/``'false'`` -> bool, recursively, as Stripe parses form data."""
    if isinstance(value, dict):
        return {key: coerce(item) for key, item in value.items()}
    if isinstance(value, list):
        return [coerce(item) for item in value]
    return {"true": True, "false": False}.get(value, value)


def pop_remembered(params, names):
    """Take ``names`` out of ``params``: the values localstripe does not accept."""
    return {name: coerce(params.pop(name)) for name in names if name in params}


def integer(value, param):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StripeError(
            f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
        ) from None


def one_of(value, choices, param):
    if value is not None and value not in choices:
        raise StripeError(
            f"Invalid {param}: must be one of {', '.join(choices)}", param=param
        )
    return value


def payment_method_types(allowed, excluded):
    """``payment_method_types`` of an answer, from the endive parameters."""
    return [kind for kind in allowed or ["card"] if kind not in (excluded or [])]


def _created_matches(obj, created):
    if created is None:
        return True
    if not isinstance(created, dict):
        return obj.created == integer(created, "created")
    for name, value in created.items():
        if name not in COMPARISONS:
            raise StripeError(
                f"Received unknown parameter: created[{name}]",
                code="parameter_unknown",
                param=f"created[{name}]",
            )
        if not COMPARISONS[name](obj.created, integer(value, f"created[{name}]")):
            return False
    return True


def _index(ids, object_id, param):
    if object_id not in ids:
        raise StripeError(
            f"No such object: '{object_id}'", code="resource_missing", param=param
        )
    return ids.index(object_id)


def _page(selected, params, limit):
    """The page of ``selected`` the cursor parameters ask for, and ``has_more``."""
    ids = [obj.id for obj in selected]
    if "ending_before" in params:
        end = _index(ids, params["ending_before"], "ending_before")
        return selected[max(0, end - limit) : end], end > limit
    start = 0
    if "starting_after" in params:
        start = _index(ids, params["starting_after"], "starting_after") + 1
    return selected[start : start + limit], len(selected) > start + limit


def list_answer(url, objects, params, matches):
    """A Stripe list of ``objects`` (newest first) that satisfy ``matches(obj)``
    and ``params['created']``, paginated by ``limit``/``starting_after``/
    ``ending_before``."""
    limit = integer(params.get("limit", 10), "limit")
    if not 1 <= limit <= 100:
        raise StripeError("limit must be between 1 and 100", param="limit")
    created = params.get("created")
    selected = [o for o in objects if matches(o) and _created_matches(o, created)]
    page, has_more = _page(selected, params, limit)
    expand = [path[5:] for path in params.get("expand", []) if path.startswith("data.")]
    return {
        "object": "list",
        "url": url,
        "has_more": has_more,
        "data": [obj._export(expand=expand) for obj in page],
    }
