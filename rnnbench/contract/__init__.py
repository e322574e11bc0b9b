"""What plugins see: errors, typed parameters, specs, hook specs, the registry."""
