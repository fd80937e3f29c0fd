"""Anthropic Messages wire format: ``messages`` (request body, whole answer), ``stream`` (SSE events),
``model`` (``AnthropicModel``, the ``LanguageModel`` and ``WirePassthrough`` of one instance)."""
