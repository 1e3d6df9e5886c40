r"""A two-convolution encoder for 8×8 grey images, cheap enough for CPU benchmarks.

:class:`~graphssl.comatch.encoders.DigitsCNN` (32-64-128 channels, batch-norm) costs
50–70 ms of one CPU core per CoMatch step at ``B = 16, μ = 3``; this one keeps the
translation equivariance that matters for shifted views of a digit at a few ms.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from graphssl._validation import check_int, param_error
from graphssl.comatch._inputs import _check_input

__all__ = ["SmallDigitsCNN"]


class SmallDigitsCNN(nn.Module):
    r"""Two 3×3 convolutions and one dense layer for ``8×8`` grey images.

    .. math::
        h = \phi\big(W_3\,\mathrm{vec}(\phi(K_2 \ast_2 \phi(K_1 \ast x)))\big)

    with :math:`\phi` = ReLU, :math:`K_1` a 3×3 convolution ``1 → c_1`` (zero padding,
    stride 1, ``8×8`` maps), :math:`K_2` a 3×3 convolution ``c_1 → c_2`` at stride 2
    (``4×4`` maps), :math:`\mathrm{vec}` the flattening of ``[c_2, 4, 4]`` and
    :math:`W_3` an affine map to :math:`D` features. No batch-norm: every view of a
    step goes through one forward, and the net stays cheap.

    Args:
        channels (Sequence[int]): :math:`(c_1, c_2)`. (default: ``(16, 32)``)
        hidden (int): :math:`D`, stored as ``num_features``. (default: ``128``)

    Shapes:
        ``x [N, 1, 8, 8]`` or flattened ``[N, 64]`` → ``features [N, D]``.
    """

    def __init__(self, channels: Sequence[int] = (16, 32), hidden: int = 128) -> None:
        super().__init__()
        o = type(self).__name__
        if isinstance(channels, int) or len(channels) != 2:
            raise param_error("channels", o, "a pair of ints (c1, c2)", channels)
        c1, c2 = (check_int(c, "channels", o, low=1) for c in channels)
        self.channels = (c1, c2)
        self.num_features = check_int(hidden, "hidden", o, low=1)
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(16 * c2, self.num_features),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Features ``[N, D]``."""
        o = type(self).__name__
        if isinstance(x, Tensor) and x.dim() == 2:
            x = _check_input(x, o, ("N", 64)).view(-1, 1, 8, 8)
        h: Tensor = self.body(_check_input(x, o, ("N", 1, 8, 8)))
        return h
