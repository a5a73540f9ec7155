"""Training data: per-clip feature files (``imagintalk prepare``), datasets and batching.

    prepare_dataset(data_dir, cfg)            # DIR/manifest.jsonl -> DIR/features/<id>.npz
    prepare_dataset(data_dir, cfg, pack=True) # ... then DIR/features/pack-<I>of<N>-<seq>.zip
    list_clips(data_dir)                      # every clip, loose or packed (feature_store.FeatureRef)
    merge_prepared([dir_a, dir_b], data_dir)  # shards prepared in separate dirs -> one
    ds = FeatureDataset(data_dir, split="train", window_frames=75)
    batch = collate([ds[0], ds[1]])          # dict of padded tensors + masks
    units = UnitSequenceDataset(data_dir, extra_text_sequences=1000)

Heavy imports (torch, the feature extractors) happen inside the submodules only.
"""

from __future__ import annotations

from ..settings.data import DataConfig

__all__ = ["DataConfig"]
