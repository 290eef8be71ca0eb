"""Infrastructure every step shares: config, paths, registry, step runner, io, deps."""
