"""Contract check: every request handed to the stripe SDK must fit the SDK's own types.

The SDK's typed request parameters (``stripe.params``) are generated from Stripe's
OpenAPI spec for the API version the SDK pins. A parameter that this version removed
(``payment_method_types`` on endive's PaymentIntent create), a misspelt key, a wrong
type or a value outside an enum is a violation here, whatever the test double accepts.

:func:`install` wraps every method of every SDK service (``client.v1.*``) that takes
``params``. Each call is checked before it is sent: a violation is recorded and raised
as :class:`StripeContractViolation` (an ``AssertionError``, so the test fails at the
call). At exit the counts of checked requests per operation and the violations are
written as JSON to the report file, which ``scripts/test`` reads: a violation fails
the run even when the code under test swallowed the exception.

Enums: the SDK types an enum as ``Literal[...]|str`` so that old SDKs keep working
when Stripe adds a value. Here the bare ``str`` of such a union is ignored: a value
must be one the pinned version documents.
"""

import ast
import atexit
import collections
import contextlib
import functools
import importlib
import inspect
import json
import pkgutil
import re
import sys
import threading
import types
import typing

import stripe
import typing_extensions
from stripe._request_options import RequestOptions
from stripe._stripe_service import StripeService
from typing_extensions import NotRequired, Required

_NONE = type(None)
_REQUEST_OPTION_KEYS = frozenset(RequestOptions.__annotations__)


class StripeContractViolation(AssertionError):
    """A request does not fit the SDK's typed parameters of its operation."""


# === TYPE CHECK === #


def _resolve(annotation, module_name):
    """Evaluate a string or forward-referenced annotation in its module."""
    namespace = vars(sys.modules[module_name])
    if isinstance(annotation, str):
        annotation = typing.ForwardRef(annotation)
    return typing._eval_type(annotation, namespace, None)  # pylint: disable=protected-access


def _unwrap(annotation):
    """Drop ``NotRequired``/``Required`` around a TypedDict item's type."""
    while typing.get_origin(annotation) in (NotRequired, Required):
        annotation = typing.get_args(annotation)[0]
    return annotation


def _describe(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_value(value, annotation, module_name, path):
    """Return the list of violations of ``value`` against ``annotation``.

    :param str module_name: The module whose names the annotation refers to.
    :param str path: Where the value sits in the request, for messages.
    """
    annotation = _unwrap(_resolve(annotation, module_name))
    if annotation is typing.Any:
        return []
    # typing_extensions' own: the SDK's TypedDicts are not typing's on Python 3.11.
    if typing_extensions.is_typeddict(annotation):
        return check_typed_dict(value, annotation, path)
    origin = typing.get_origin(annotation)
    if inspect.isclass(origin) and issubclass(origin, stripe.StripeObject):
        origin = dict  # UntypedStripeObject[str]: a plain mapping in a request.
    checker = _CHECKERS.get(origin, _check_plain)
    return checker(value, annotation, module_name, path)


def _check_union(value, annotation, module_name, path):
    members = list(typing.get_args(annotation))
    enum_values = [
        v
        for m in members
        if typing.get_origin(m) is typing.Literal
        for v in typing.get_args(m)
        if v != ""
    ]
    if str in members and enum_values:
        members.remove(str)  # Literal[...]|str: the enum alone is the contract.
    results = [check_value(value, m, module_name, path) for m in members]
    if any(not r for r in results):
        return []
    return min(results, key=len)  # The closest member: the fewest violations.


def _check_literal(value, annotation, module_name, path):
    args = typing.get_args(annotation)
    if value in args:
        return []
    allowed = ", ".join(repr(a) for a in args[:8])
    more = f" and {len(args) - 8} more" if len(args) > 8 else ""
    return [f"{path}: {_describe(value)} is not one of {allowed}{more}"]


def _check_list(value, annotation, module_name, path):
    if not isinstance(value, list | tuple):
        return [f"{path}: expected a list, got {_describe(value)}"]
    (item_type,) = typing.get_args(annotation)
    violations = []
    for index, item in enumerate(value):
        violations += check_value(item, item_type, module_name, f"{path}[{index}]")
    return violations


def _check_dict(value, annotation, module_name, path):
    if not isinstance(value, dict):
        return [f"{path}: expected a dict, got {_describe(value)}"]
    args = typing.get_args(annotation)
    violations = []
    for key, item in value.items() if args else ():
        violations += check_value(item, args[-1], module_name, f"{path}[{key!r}]")
    return violations


def _check_plain(value, annotation, module_name, path):
    if annotation is _NONE:
        ok = value is None
    elif annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif inspect.isclass(annotation):
        ok = isinstance(value, annotation)
    else:
        return [f"{path}: the contract check does not know the type {annotation!r}"]
    if ok:
        return []
    name = getattr(annotation, "__name__", repr(annotation))
    return [f"{path}: expected {name}, got {_describe(value)}"]


_CHECKERS = {
    typing.Union: _check_union,
    types.UnionType: _check_union,
    typing.Literal: _check_literal,
    list: _check_list,
    dict: _check_dict,
}


def check_typed_dict(value, typed_dict, path="params"):
    """Return the violations of ``value`` against a ``stripe.params`` TypedDict."""
    if not isinstance(value, dict):
        return [f"{path}: expected a dict, got {_describe(value)}"]
    violations = []
    annotations = typed_dict.__annotations__
    for key in sorted(value):
        where = f"{path}.{key}"
        if key in _REQUEST_OPTION_KEYS and typed_dict is not RequestOptions:
            violations.append(f"{where}: a request option, not a request parameter")
        elif key not in annotations:
            violations.append(f"{where}: unknown parameter")
        else:
            violations += check_value(
                value[key], annotations[key], typed_dict.__module__, where
            )
    for key in sorted(typed_dict.__required_keys__ - set(value) - _REQUEST_OPTION_KEYS):
        violations.append(f"{path}.{key}: required parameter missing")
    return violations


# === SDK SERVICES === #


def _type_checking_imports(module):
    """Map the names a service module imports under ``TYPE_CHECKING`` to modules."""
    names = {}
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and getattr(node.test, "id", None) == "TYPE_CHECKING"
        ):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    for alias in statement.names:
                        names[alias.asname or alias.name] = statement.module
    return names


def service_operations():
    """Yield ``(service class, method name, params TypedDict)`` for every SDK
    service method that takes ``params``."""
    for info in pkgutil.walk_packages(stripe.__path__, "stripe."):
        if info.name.endswith("_service"):
            importlib.import_module(info.name)
    seen = set()
    pending = list(StripeService.__subclasses__())
    while pending:
        service = pending.pop()
        pending += service.__subclasses__()
        if service in seen:
            continue
        seen.add(service)
        module = sys.modules[service.__module__]
        imports = _type_checking_imports(module)
        for name, function in vars(service).items():
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if inspect.iscoroutinefunction(function):
                continue  # The addons use the synchronous methods only.
            parameter = inspect.signature(function).parameters.get("params")
            if parameter is None:
                continue
            match = re.search(r"\b(\w+Params)\b", str(parameter.annotation))
            type_name = match and match.group(1)
            if type_name not in imports:
                continue
            params_type = getattr(
                importlib.import_module(imports[type_name]), type_name
            )
            yield service, name, params_type


def operation_name(service, method_name):
    """``PaymentIntentService.create`` -> ``payment_intents.create`` (its URL words)."""
    words = service.__module__.rsplit(".", 1)[-1].strip("_").removesuffix("_service")
    package = service.__module__.split(".")[1]
    prefix = "" if package.startswith("_") else f"{package}."
    return f"{prefix}{words}s.{method_name}"


# === RECORDING === #


class ContractRecorder:
    """Counts checked requests per operation and keeps the violations."""

    def __init__(self):
        self.lock = threading.Lock()
        self.checked = collections.Counter()
        self.violations = []
        self.local = threading.local()

    @contextlib.contextmanager
    def expecting_violations(self):
        """Raise violations without recording them (a test of the check itself)."""
        self.local.expecting = True
        try:
            yield
        finally:
            self.local.expecting = False

    def check(self, operation, params_type, params):
        violations = check_typed_dict(params or {}, params_type)
        if not getattr(self.local, "expecting", False):
            with self.lock:
                self.checked[operation] += 1
                self.violations += [
                    {"operation": operation, "problem": problem}
                    for problem in violations
                ]
        if violations:
            raise StripeContractViolation(
                f"Stripe request {operation} does not fit the SDK's types for API "
                f"version {stripe.api_version}: " + "; ".join(violations)
            )

    def report(self):
        with self.lock:
            return {
                "api_version": stripe.api_version,
                "sdk_version": stripe.VERSION,
                "checked": dict(sorted(self.checked.items())),
                "violations": list(self.violations),
            }

    def write(self, path):
        with open(path, "w", encoding="utf-8") as report_file:
            json.dump(self.report(), report_file, indent=2)


_recorder = None


def installed_recorder():
    """The recorder of this process, or None when the check is not installed."""
    return _recorder


def _wrap(function, operation, params_type):
    signature = inspect.signature(function)

    @functools.wraps(function)
    def checked(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        _recorder.check(operation, params_type, bound.arguments.get("params"))
        return function(*args, **kwargs)

    checked.__stripe_contract__ = True
    return checked


def install(report_path=None):
    """Check every SDK service call of this process from now on.

    :param str report_path: Where to write the JSON report at exit, if anywhere.
    :return: The recorder (its ``report()`` is the running tally).
    """
    global _recorder  # pylint: disable=global-statement
    if _recorder is None:
        _recorder = ContractRecorder()
        for service, name, params_type in service_operations():
            function = vars(service)[name]
            if not getattr(function, "__stripe_contract__", False):
                setattr(
                    service,
                    name,
                    _wrap(function, operation_name(service, name), params_type),
                )
    if report_path:
        atexit.register(_recorder.write, report_path)
    return _recorder
