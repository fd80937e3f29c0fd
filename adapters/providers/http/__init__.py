"""Vendor-neutral pieces of every HTTP provider kind's wire codecs (OpenAI, Anthropic...).

- ``session``: one pooled ``aiohttp.ClientSession`` per provider instance, with the call timeouts.
- ``sse``: a server-sent-events parser over a response body.
- ``failures``: upstream failures (HTTP status, error codes, transport errors) -> ``ProviderUnavailable`` /
  ``ProviderRejected`` with a ``FailureKind``, never echoing upstream text or a secret.
- ``identity_cache``: values built once per identity of a tuple's items (e.g. encoded tool lists).

Nothing here knows a vendor's JSON; the codecs under ``adapters/providers/<kind>/wire/`` do.
"""
