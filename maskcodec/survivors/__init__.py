"""Survivor coding: the kept values of mask mode as bytes.

One colour/band transform (:mod:`.transform`), one Rice block (:mod:`.rice`), and the codings built
on them: predictive (:mod:`.predictive`, spec 6.5), scan (:mod:`.scan`, spec 6) and segment coding
(:mod:`.segment_coding`, spec 11.3). The single container picks among them by name
(:data:`maskcodec.modes.mask.container.CODINGS`).
"""
