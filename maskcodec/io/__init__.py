"""Images and mission products in and out: PNG/TIFF/NumPy files, PDS3/VICAR/PDS4/FITS products, the bundled samples."""
