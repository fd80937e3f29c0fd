"""Neutral guardrails: the rule engine (``RuleEngineChecker``) and the policy file loader."""
