"""Users, roles, scope, tokens and sign-in."""
