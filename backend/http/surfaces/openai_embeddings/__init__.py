"""``POST /v1/embeddings``: OpenAI's embeddings protocol over the model layer."""
