"""Authentication and authorization: signing keys, hearing tokens, revocation."""
