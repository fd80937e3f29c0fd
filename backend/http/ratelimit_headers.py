"""Rate-limit header fields on successes and on 429s: the IETF draft's ``RateLimit-*``
(draft-ietf-httpapi-ratelimit-headers) and OpenAI's ``x-ratelimit-*-requests``, which OpenAI clients and
tools read."""

from __future__ import annotations

import math


def rate_limit_headers(limit: int, remaining: int, reset_s: float) -> dict[str, str]:
    reset = max(0, math.ceil(reset_s))
    left = max(0, remaining)
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(left),
        "RateLimit-Reset": str(reset),
        "x-ratelimit-limit-requests": str(limit),
        "x-ratelimit-remaining-requests": str(left),
        "x-ratelimit-reset-requests": f"{reset}s",
    }
