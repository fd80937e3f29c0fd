"""In-process ``GuardrailPolicyStore``: defaults from the config file plus per-tenant overrides in a dict."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.guardrails import GuardrailPolicy


def merge_policies(
    defaults: dict[str, GuardrailPolicy], overrides: Sequence[GuardrailPolicy]
) -> list[GuardrailPolicy]:
    """Defaults with the tenant's overrides replacing those of the same name, sorted by name."""
    merged = dict(defaults)
    merged.update((policy.name, policy) for policy in overrides)
    return [merged[name] for name in sorted(merged)]


class MemoryPolicyStore:
    """Guardrail policies: ``defaults`` for every tenant, overrides per tenant (lost on restart)."""

    def __init__(self, defaults: Sequence[GuardrailPolicy]) -> None:
        self._defaults = {policy.name: policy for policy in defaults}
        self._overrides: dict[tuple[str, str], GuardrailPolicy] = {}

    async def get(self, tenant_id: str, name: str) -> GuardrailPolicy | None:
        override = self._overrides.get((tenant_id, name))
        return override if override is not None else self._defaults.get(name)

    async def list(self, tenant_id: str) -> list[GuardrailPolicy]:
        overrides = [policy for (tenant, _), policy in self._overrides.items() if tenant == tenant_id]
        return merge_policies(self._defaults, overrides)

    async def put(self, tenant_id: str, policy: GuardrailPolicy) -> GuardrailPolicy:
        self._overrides[(tenant_id, policy.name)] = policy
        return policy
