"""Doctest collection: the training package needs torch (the 'train' extra)."""
import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["maskcodec/tools/train/*"]
