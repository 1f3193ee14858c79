"""The runtime: which models are installed (:mod:`.manifest`) and running their ONNX networks (:mod:`.onnx`)."""
