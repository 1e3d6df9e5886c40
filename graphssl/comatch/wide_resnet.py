r"""WRN-28-2 (Zagoruyko & Komodakis 2016) as FixMatch and CoMatch use it for 32×32 RGB.

Pre-activation residual blocks, batch-norm momentum 0.001, LeakyReLU(0.1); with a
10-class linear classifier it has 1,467,610 parameters.
"""

from __future__ import annotations

from torch import Tensor, nn

from graphssl._validation import check_int, param_error
from graphssl.comatch._inputs import _check_input

__all__ = ["WideResNet"]


class _Block(nn.Module):
    """Pre-activation residual block (BN–LReLU–conv ×2) with a 1×1 shortcut."""

    def __init__(self, a: int, b: int, stride: int, activate_shortcut: bool) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(a, momentum=0.001)
        self.conv1 = nn.Conv2d(a, b, 3, stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(b, momentum=0.001)
        self.conv2 = nn.Conv2d(b, b, 3, 1, padding=1, bias=False)
        self.act = nn.LeakyReLU(0.1)
        self.short = None if a == b else nn.Conv2d(a, b, 1, stride, bias=False)
        # FixMatch's WRN feeds the activated input to the shortcut in the first block
        # only (right after the stem), elsewhere the raw input.
        self.activate_shortcut = activate_shortcut

    def forward(self, x: Tensor) -> Tensor:
        o: Tensor = self.act(self.bn1(x))
        identity = o if self.activate_shortcut else x
        o = self.conv2(self.act(self.bn2(self.conv1(o))))
        short: Tensor = identity if self.short is None else self.short(identity)
        return o + short


class WideResNet(nn.Module):
    r"""Wide residual network WRN-``depth``-``widen`` for 32×32 images.

    Stem 3×3 conv (16 channels), three groups of :math:`n = (\text{depth} - 4)/6`
    pre-activation blocks with :math:`16k, 32k, 64k` channels (:math:`k` = ``widen``;
    strides 1, 2, 2), final BN–LReLU and global average pooling: :math:`D = 64k`
    features (128 for WRN-28-2).

    Args:
        depth (int): :math:`6n + 4`. (default: ``28``)
        widen (int): :math:`k \ge 1`. (default: ``2``)
        in_channels (int): (default: ``3``)

    Shapes:
        ``x [N, in_channels, H, W]`` → ``features [N, 64k]``.
    """

    def __init__(self, depth: int = 28, widen: int = 2, in_channels: int = 3) -> None:
        super().__init__()
        o = "WideResNet"
        depth = check_int(depth, "depth", o, low=10)
        if (depth - 4) % 6:
            raise param_error(
                "depth", o, "of the form 6n + 4 (10, 16, 22, 28, ...)", depth
            )
        k = check_int(widen, "widen", o, low=1)
        self.in_channels = check_int(in_channels, "in_channels", o, low=1)
        n = (depth - 4) // 6
        widths = [16, 16 * k, 32 * k, 64 * k]
        self.stem = nn.Conv2d(self.in_channels, 16, 3, padding=1, bias=False)
        blocks: list[nn.Module] = []
        for g, stride in enumerate((1, 2, 2)):
            for i in range(n):
                a = widths[g] if i == 0 else widths[g + 1]
                blocks.append(
                    _Block(a, widths[g + 1], stride if i == 0 else 1, g == i == 0)
                )
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(widths[-1], momentum=0.001)
        self.act = nn.LeakyReLU(0.1)
        self.num_features = widths[-1]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(
                    m.weight, mode="fan_out", nonlinearity="leaky_relu"
                )

    def forward(self, x: Tensor) -> Tensor:
        """Features ``[N, 64k]``."""
        x = _check_input(x, "WideResNet", ("N", self.in_channels, "H", "W"))
        h: Tensor = self.act(self.bn(self.blocks(self.stem(x)))).mean(dim=(2, 3))
        return h
