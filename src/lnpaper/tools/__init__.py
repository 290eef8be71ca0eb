"""Command-line tools (benchmark, CLI). Nothing in the package imports this layer."""
