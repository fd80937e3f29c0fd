"""Guardrail surfaces of the OpenAI provider kind (moderation)."""
