"""The data layer: records (the validated dialogue records), the readers of every file format,
dialogue helpers, and the transforms and leak finder that act on records. Imports fraudft.core (and
fraudft.task) only."""
