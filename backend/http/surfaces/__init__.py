"""Protocol surfaces: one folder per vendor API a client may speak to us (its wire structs, its mapping to
the neutral model call, its serving and its route), over the completion service."""
