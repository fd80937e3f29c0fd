"""``/v1/responses``: OpenAI's Responses protocol, its state kept in our conversations."""
