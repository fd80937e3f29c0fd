"""The OpenAI wire formats behind the ``LanguageModel`` port: no openai client, no pydantic.

- ``chat_completions``: ``POST /chat/completions`` (OpenAI, vLLM, Ollama, any compatible server).
- ``responses``: ``POST /responses`` (OpenAI's Responses API).
- ``encoding``: what both share (request bodies with ``extras`` merged, tool-call arguments, call ids).
- ``model``: ``OpenAIModel``, one provider instance's ``LanguageModel`` over either format.

Each format module holds msgspec Structs for the request body (encoded with unset fields omitted) and
typed decoders, built once at import, for the answer and for each streamed chunk or event.
"""
