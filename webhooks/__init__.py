"""Events and their delivery to subscribers: plain Python, no framework, no clock reads."""

from webhooks.events import (
    EVENT_LABELS,
    EVENT_TYPES,
    SubscriptionFilter,
    build_event,
    is_valid_pattern,
    item_data,
    label,
    matches,
)
from webhooks.formats import FORMATS, Formatter, OutboundRequest
from webhooks.ratelimit import (
    DEFAULT_POLICIES,
    Allowance,
    DigestMode,
    EndpointPolicy,
    allowance,
    plan_messages,
    policy_for,
)
from webhooks.retry import (
    DEFAULT_POLICY,
    Outcome,
    RetryPolicy,
    Verdict,
    classify,
    failing_since,
    next_attempt_at,
    should_disable,
)
from webhooks.signing import new_standard_secret, standard_headers, verify_standard
from webhooks.transport import Attempt, ErrorKind, Transport, UrlRefused, validate_url

__all__ = [
    "DEFAULT_POLICIES",
    "DEFAULT_POLICY",
    "EVENT_LABELS",
    "EVENT_TYPES",
    "FORMATS",
    "Allowance",
    "Attempt",
    "DigestMode",
    "EndpointPolicy",
    "ErrorKind",
    "Formatter",
    "OutboundRequest",
    "Outcome",
    "RetryPolicy",
    "SubscriptionFilter",
    "Transport",
    "UrlRefused",
    "Verdict",
    "allowance",
    "build_event",
    "classify",
    "failing_since",
    "is_valid_pattern",
    "item_data",
    "label",
    "matches",
    "new_standard_secret",
    "next_attempt_at",
    "plan_messages",
    "policy_for",
    "should_disable",
    "standard_headers",
    "validate_url",
    "verify_standard",
]
