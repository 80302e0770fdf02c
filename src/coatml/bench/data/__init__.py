"""Package data of coatml.bench (the simulated lab's default configuration)."""
