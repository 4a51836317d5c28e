"""The job functions, one package per domain, one module per concern."""
