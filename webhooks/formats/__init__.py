"""Chat and webhook formats: one registry, one small module per receiver."""

from webhooks.formats import dingtalk, feishu, slack, standard, wecom
from webhooks.formats.outbound import Event, Formatter, OutboundRequest, Render

FORMATS: dict[str, Formatter] = {
    module.FORMATTER.name: module.FORMATTER for module in (standard, dingtalk, wecom, feishu, slack)
}

__all__ = ["FORMATS", "Event", "Formatter", "OutboundRequest", "Render"]
