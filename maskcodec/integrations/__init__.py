"""maskcodec in other systems: a Zarr and numcodecs codec (:mod:`.zarr_codec`), batch decoding of folders (:mod:`.batch`)."""
