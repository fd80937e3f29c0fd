"""The Switchboard service: settings, the composition root, services and the HTTP edge."""
