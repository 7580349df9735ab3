"""``zipline.pipeline.factors.technical``: the technical indicators (see ``..factors``)."""
from ml4t.compat.zipline.pipeline.factors import (  # noqa: F401
    RSI, Aroon, BollingerBands, FastStochasticOscillator, IchimokuKinkoHyo, MACDSignal,
    MovingAverageConvergenceDivergenceSignal, RateOfChangePercentage, TrueRange)
