"""Visual front end of the lip aligner: Conv3d stem + per-frame ResNet-18 trunk.

    mouth ROIs [B, T, H, W] (88 x 88 gray, normalised)
      -> Conv3d 1 -> C0, kernel (5, 7, 7), stride (1, 2, 2) + BN + ReLU   [B, C0, T, H/2, W/2]
      -> MaxPool3d (1, 3, 3) / (1, 2, 2)                                  [B, C0, T, H/4, W/4]
      -> frames folded into the batch: 2D ResNet (BasicBlocks), per frame [B*T, C, h, w]
      -> global average pool                                              [B, T, C_last]

Only the stem looks across time (5 frames = 0.2 s); the trunk sees one frame at a time, the
temporal modelling is left to the Conformer. Plain torch (torchvision is unusable here).
"""

from __future__ import annotations

from torch import Tensor, nn


class BasicBlock(nn.Module):
    """ResNet BasicBlock: two 3x3 convs with BN, identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        h = self.relu(self.bn1(self.conv1(x)))  # [N, C_out, h', w']
        h = self.bn2(self.conv2(h))  # [N, C_out, h', w']
        return self.relu(h + self.shortcut(x))  # [N, C_out, h', w']


class ResNetTrunk(nn.Module):
    """2D ResNet stages (first at stride 1, then stride 2) + global average pool, per image."""

    def __init__(self, in_channels: int, widths: list[int], blocks: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for stage, (width, count) in enumerate(zip(widths, blocks)):
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(BasicBlock(channels, width, stride))
                channels = width
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, x: Tensor) -> Tensor:
        """x [N, C0, h, w] -> pooled features [N, C_last]."""
        return self.layers(x).mean(dim=(2, 3))  # [N, C_last]


class LipFrontend(nn.Module):
    """Mouth ROIs [B, T, H, W] -> per-frame visual features [B, T, C_last]."""

    def __init__(self, stem_channels: int, widths: list[int], blocks: list[int]) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(1, stem_channels, (5, 7, 7), stride=(1, 2, 2), padding=(2, 3, 3), bias=False),
            nn.BatchNorm3d(stem_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        )
        self.trunk = ResNetTrunk(stem_channels, widths, blocks)
        self.out_channels = self.trunk.out_channels

    def frame_features(self, stem_out: Tensor) -> Tensor:
        """The per-frame trunk: stem output [B, C0, T, h, w] -> [B, T, C_last]."""
        b, c0, t, h, w = stem_out.shape  # B, C0, T, h, w
        frames = stem_out.transpose(1, 2).reshape(-1, c0, h, w)  # [B*T, C0, h, w] frames into the batch
        return self.trunk(frames).reshape(b, t, -1)  # [B, T, C_last]

    def forward(self, rois: Tensor) -> Tensor:
        """rois [B, T, H, W] float -> [B, T, C_last]."""
        x = self.stem(rois.unsqueeze(1))  # [B, C0, T, H/4, W/4]
        return self.frame_features(x)  # [B, T, C_last]
