import numpy as np
import pytest
import torch

from coursekit.exercises.functions import named
from coursekit.grading.plain import (
    Array,
    FunctionRef,
    Other,
    WireError,
    encode,
    from_wire,
    materialize,
    to_wire,
)


def test_tensor_becomes_float64_array_with_its_dtype_and_graph_state():
    x = torch.tensor([1.0, 2.0], dtype=torch.float32, requires_grad=True)
    value = encode(x * 2)
    assert isinstance(value, Array)
    assert value.data.dtype == np.float64 and value.dtype == "torch.float32" and value.attached
    assert value.shape == (2,)


def test_hostile_tensor_subclass_is_read_as_a_plain_tensor():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

        def tolist(self):
            return [42.0]

    value = encode(torch.tensor([1.0, 2.0], dtype=torch.float64).as_subclass(Liar))
    assert np.array_equal(value.data, [1.0, 2.0])


def test_unknown_objects_keep_only_their_type_name():
    class Weird:
        def __eq__(self, other):
            return True

    assert encode(Weird()) == Other("Weird")
    assert isinstance(encode(torch.zeros(2, dtype=torch.complex64)), Other)


def test_containers_and_numbers():
    value = encode((torch.ones(1), [np.float32(1.5), 2], {"a": None}, "s", True))
    assert isinstance(value, tuple) and value[1] == [1.5, 2] and value[2] == {"a": None}
    assert value[3:] == ("s", True)


def test_wire_round_trip_keeps_everything():
    fn = named("square_for_wire_test", lambda x: x * x)
    original = (encode(torch.arange(6.0).reshape(2, 3)), [1, 2.5, float("nan"), float("-inf")],
                {"k": "v"}, encode(fn), encode(torch.tensor([1, 2]), keep_dtype=True), Other("X", "y"), None)
    back = from_wire(*to_wire(original))
    assert np.array_equal(back[0].data, original[0].data) and back[0].shape == (2, 3)
    assert back[1][:2] == [1, 2.5] and np.isnan(back[1][2]) and back[1][3] == float("-inf")
    assert back[2] == {"k": "v"} and back[3] == FunctionRef("square_for_wire_test")
    assert back[4].data.dtype == np.int64 and back[5] == Other("X", "y") and back[6] is None
    assert materialize(back[3]) is fn
    restored = materialize(back[4])
    assert restored.dtype == torch.int64 and restored.tolist() == [1, 2]


@pytest.mark.parametrize("header,buffers,match", [
    (b"not json", [], "not JSON"),
    (b'{"$array": 0, "shape": [3], "wire": "float64", "container": "tensor"}', [b"\0" * 8], "size"),
    (b'{"$array": 1, "shape": [1], "wire": "float64", "container": "tensor"}', [b"\0" * 8], "missing buffer"),
    (b'{"$array": 0, "shape": [1], "wire": "object", "container": "tensor"}', [b"\0" * 8], "not allowed"),
    (b'{"$pickle": "..."}', [], "unknown tagged"),
    (b"[" * 50 + b"]" * 50, [], "nested too deeply"),
])
def test_wire_rejects_malformed_data(header, buffers, match):
    with pytest.raises(WireError, match=match):
        from_wire(header, buffers)
