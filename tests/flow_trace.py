"""Follow one call through maskcodec and count how often the flow returns to a module it had already left.

Each call site is followed once (a loop's second turn is no new step). A *return to a module already left* is
a call into a maskcodec module that ran earlier, was left, and is not on the call stack now (so a module
calling its own helpers, or a caller getting its result back, is no return). ``python tests/flow_trace.py``
prints the counts and the path of an encode and a decode of a mask-mode file.
"""
from __future__ import annotations

import sys
from collections import Counter


def follow(fn, *args, **kwargs) -> tuple[int, Counter, list[str]]:
    """(returns to a module already left, calls into each module, the modules in the order entered)."""
    edges, stack, left, entered, path = set(), [], set(), Counter(), []
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        name = frame.f_globals.get("__name__", "")
        if event == "call":
            caller = stack[-1][0] if stack else None
            back = frame.f_back
            edge = (back.f_code if back else None, back.f_lineno if back else 0, frame.f_code)
            new = edge not in edges and (not stack or stack[-1][1])
            edges.add(edge)
            ours = name.startswith("maskcodec")
            stack.append((name if ours else caller, new))
            if new and ours and name != caller:
                if name in left and name not in {m for m, _ in stack[:-1]}:
                    count += 1
                entered[name] += 1
                path.append(name)
        elif event == "return" and stack:
            module, _ = stack.pop()
            if stack and stack[-1][0] != module and module:
                left.add(module)

    sys.setprofile(profile)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return count, entered, path


if __name__ == "__main__":
    import maskcodec
    image = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(image, keep=0.1, seed=1)
    maskcodec.decode(data)  # load the models first: a first decode's model loading is no part of the flow
    for what, fn, args, kwargs in [("encode", maskcodec.encode, (image,), dict(keep=0.1, seed=1)),
                                   ("decode", maskcodec.decode, (data,), {})]:
        count, entered, path = follow(fn, *args, **kwargs)
        print(f"{what}: {count} returns to a module already left")
        print("   ", " > ".join(m.removeprefix("maskcodec.") for m in path))
