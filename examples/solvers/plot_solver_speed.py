"""
Batched solver against the pymanopt reference
=============================================

DSP solves one small optimisation problem per video on the Stiefel manifold.
:func:`skdsp.pooling.solve_dsp` offers two solvers for the same objective:

- ``solver="batched"``: skdsp's Riemannian conjugate gradient, which stacks the
  videos of a batch into one tensor and advances all of them at every iteration
  (:func:`skdsp.optim.batched_rcg`);
- ``solver="pymanopt"``: pymanopt's ``ConjugateGradient``, one video at a time, the
  reference (the paper used Manopt, pymanopt's MATLAB ancestor).

This example times both on real frames for a growing number of videos, on the CPU
that builds this page, and checks that they reach comparable objective values. Sizes
are kept small so that it runs in seconds; ``device="cuda"`` runs the batched solver
on a GPU without other changes.
"""

# %%
# Frames and negatives
# --------------------
#
# BasicMotions recordings (100 frames of 6 features each) as positive bags, and as
# negatives the same frames plus random noise of norm 0.5 (relative to unit-norm
# frames). The negatives only need to be the same for both solvers.
import time

import matplotlib.pyplot as plt
import numpy as np

from skdsp.datasets import load_basic_motions
from skdsp.pooling import solve_dsp

X_train, y_train, X_test, y_test = load_basic_motions()
videos = [
    v / np.linalg.norm(v, axis=1, keepdims=True) for v in X_train + X_test
]
rng = np.random.default_rng(0)
negatives = []
for v in videos:
    noise = rng.standard_normal(v.shape)
    negatives.append(
        v + 0.5 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    )

# %%
# Timing
# ------
#
# Each configuration is run three times and the median wall time is kept. Both
# solvers use the same starting points, objective and iteration budget.
MAX_ITER = 30
sizes = [1, 4, 16, 32]
settings = dict(
    n_components=3, max_iter=MAX_ITER, device="cpu", dtype="float64"
)


def timed(solver, n):
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = solve_dsp(
            videos[:n], negatives[:n], solver=solver, **settings
        )
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


timings = {"batched": [], "pymanopt": []}
objectives = {}
for n in sizes:
    for solver in timings:
        seconds, result = timed(solver, n)
        timings[solver].append(seconds)
        objectives[solver, n] = result.objective

print(
    f"{'videos':>7} {'batched (s)':>12} {'pymanopt (s)':>13} {'speed-up':>9}"
)
for i, n in enumerate(sizes):
    b, p = timings["batched"][i], timings["pymanopt"][i]
    print(f"{n:>7} {b:>12.3f} {p:>13.3f} {p / b:>8.1f}x")

# %%
# Do they agree?
# --------------
#
# Both minimise the same non-smooth objective from the same start with different
# line searches, so they need not stop at the same point; their objective values
# after the same number of iterations should be close.
n = sizes[-1]
fb, fp = objectives["batched", n], objectives["pymanopt", n]
rel = (fb - fp) / np.abs(fp)
print(
    f"{n} videos, {MAX_ITER} iterations, median objective: "
    f"batched {np.median(fb):.3f}, pymanopt {np.median(fp):.3f}"
)
print(
    f"relative difference per video: median {np.median(rel):+.2%}, "
    f"range {rel.min():+.2%} .. {rel.max():+.2%}"
)

# %%
# The plot
# --------
fig, ax = plt.subplots(figsize=(6, 4))
for solver, values in timings.items():
    ax.plot(sizes, values, marker="o", label=f'solver="{solver}"')
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("videos solved")
ax.set_ylabel("wall time (s), median of 3")
ax.set_title(f"solve_dsp on CPU, {MAX_ITER} iterations, p = 3")
ax.legend()
ax.grid(alpha=0.3, which="both")
fig.tight_layout()
plt.show()

# %%
# pymanopt solves one problem after the other, each iteration a round trip between
# torch and NumPy, so its time grows in proportion to the number of videos. The
# batched solver advances the whole batch with a few tensor operations per iteration,
# so its time grows much more slowly; the table above gives the measured ratio for
# this machine.
