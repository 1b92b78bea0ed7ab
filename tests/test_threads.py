"""one_thread limits torch to one intra-op thread inside the block and restores the count afterwards."""

import pytest
import torch

from coursekit.threads import one_thread


def test_one_thread_restores_the_previous_count_even_after_an_error():
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), one_thread():
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
