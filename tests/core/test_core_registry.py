import pytest

from fraudft.core.errors import UsageError
from fraudft.core.registry import Registry


def test_registration_order_and_names():
    reg = Registry("format")
    reg.add("jsonl", 1)

    @reg.decorator("csv", wrap=lambda f: f.__name__)
    def read_csv():
        pass

    assert reg.names() == ("jsonl", "csv")
    assert dict(reg) == {"jsonl": 1, "csv": "read_csv"}
    assert read_csv.__name__ == "read_csv"  # the decorator hands the function back


def test_a_name_is_registered_once():
    reg = Registry("metric")
    reg.add("mcc", 1)
    with pytest.raises(ValueError, match="metric 'mcc' is already registered"):
        reg.add("mcc", 2)


def test_unknown_name_is_one_line_with_close_matches():
    reg = Registry("arm name")
    for name in ("reference", "untuned", "surface_probe"):
        reg.add(name, name)
    with pytest.raises(UsageError) as err:
        reg.lookup("referense", option="--arms")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("--arms: got 'referense', expected an arm name, one of reference, untuned, surface_probe")
    assert message.endswith("(did you mean reference?)")


def test_remove_unregisters_a_name():
    reg = Registry("metric")
    reg.add("mcc", 1)
    reg.add("f1", 2)
    assert reg.remove("mcc") == 1
    assert reg.names() == ("f1",) and "mcc" not in reg
    reg.add("mcc", 3)  # free to register again
    assert reg.names() == ("f1", "mcc")
    with pytest.raises(KeyError):
        reg.remove("auc")
