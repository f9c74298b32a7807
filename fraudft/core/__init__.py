"""The ground floor: errors, the registry pattern, caches; imports nothing else of fraudft."""
