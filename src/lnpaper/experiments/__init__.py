"""The experiments of the paper: pure functions from a config slice to tidy frames."""
