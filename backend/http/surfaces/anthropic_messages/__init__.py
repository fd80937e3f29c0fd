"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages protocol
(docs/anthropic-compatibility.md)."""
