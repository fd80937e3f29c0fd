"""``POST /v1/chat/completions``: OpenAI's Chat Completions protocol (docs/openai-compatibility.md)."""
