"""Real labelled data that ships with skdsp, and loaders for video data sets."""

from skdsp._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "load_basic_motions": ".uea",
        "load_gunpoint": ".uea",
        "load_japanese_vowels": ".uea",
        "load_dataset": ".uea",
        "read_ts": ".ts_format",
        "load_video_folder": ".video_folder",
        "load_feature_folder": ".feature_folder",
        "make_camera_motion_videos": ".camera_motion",
    },
)
