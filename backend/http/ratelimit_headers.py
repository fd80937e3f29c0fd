"""IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers), on successes and on 429s."""

from __future__ import annotations

import math


def rate_limit_headers(limit: int, remaining: int, reset_s: float) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(max(0, math.ceil(reset_s))),
    }
