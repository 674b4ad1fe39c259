"""Port implementations: one module per adapter (embedded defaults and production)."""
