"""Price tables: the maintained ``genai-prices`` table."""
