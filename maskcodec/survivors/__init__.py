"""Survivor coding: the kept values of mask mode as bytes.

One colour/band transform (:mod:`.transform`), one Rice block (:mod:`.rice`), and the codings built
on them: ranked (:mod:`.ranked`, spec 6.7), predictive (:mod:`.predictive`, spec 6.5), scan (:mod:`.scan`,
spec 6) and segment coding (:mod:`.segment_coding`, spec 11.3). Ranked coding runs in C where the extension
``_flight`` (the flight core, ``flight/``, built by ``pip install``) loads, else in numpy. The single container picks among them by name
(:data:`maskcodec.modes.mask.container.CODINGS`).
"""
