"""The OpenAI Agents SDK runtime of the OpenAI provider kind (imports ``agents``: load lazily)."""
