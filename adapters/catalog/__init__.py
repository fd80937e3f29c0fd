"""Agent catalogs: the agents the service offers, read from configuration."""
