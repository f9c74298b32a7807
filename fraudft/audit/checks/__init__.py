"""The audit's checks, one module each; importing this package registers them (fraudft.audit.registry).

The import order below is the registry order: the order in which `audit()` runs the checks and the
report lists them (tests/audit/test_registry.py pins it). A new check is a module with an
`@check(...)`-decorated function, imported here.
"""

# The order is meaningful (see above): keep it, do not sort.
# isort: off
from fraudft.audit.checks import (  # noqa: F401  (imported to register)
    balance,
    consistency,
    effects,
    speaker_tags,
    instruction,
    ngrams,
    probe,
    duplicates,
    leakage,
    label_conflicts,
)
# isort: on
