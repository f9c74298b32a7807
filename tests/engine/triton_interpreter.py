"""`fraudft` with Triton kernels run by Triton's CPU interpreter, so Liger's kernels can be tested
without a GPU (slowly: numpy, one program at a time). Sets TRITON_INTERPRET=1 itself, and prints
on exit how many kernels the interpreter launched, so a test can tell they ran.

    python tests/engine/triton_interpreter.py train --model tiny ... --liger

Two gaps of the interpreter (triton 3.x) are bridged here, not in fraudft: compiled Triton passes a
float kernel argument as an fp32 scalar (the interpreter passes the Python float, so Liger's
`eps.to(tl.float32)` fails), and it does not reroute a libdevice function imported by name (Liger's
RMSNorm `rsqrt`) to its numpy version, which tl.math.rsqrt has.
"""

import atexit
import os
import sys

os.environ["TRITON_INTERPRET"] = "1"  # read when the kernels are decorated: before Liger is imported

import numpy as np
import triton.language as tl
from triton.runtime import interpreter

_convert = interpreter._implicit_cvt
_launch = interpreter.GridExecutor.__call__
launches = {}


def _float_as_fp32(arg):
    if isinstance(arg, float):
        return tl.tensor(interpreter.TensorHandle(np.array([arg], dtype=np.float32), tl.float32), tl.float32)
    return _convert(arg)


def _counted_launch(self, *args, **kwargs):
    launches[self.fn.__name__] = launches.get(self.fn.__name__, 0) + 1
    return _launch(self, *args, **kwargs)


def patch_interpreter() -> None:
    """Bridge the two gaps above, and count kernel launches."""
    from liger_kernel.ops import rms_norm

    interpreter._implicit_cvt = _float_as_fp32
    interpreter.GridExecutor.__call__ = _counted_launch
    atexit.register(lambda: print(f"triton interpreter launches: {launches}", file=sys.stderr))
    rms_norm.rsqrt = lambda x: tl.math.rsqrt(x)  # looked up at call time, when the interpreter has patched tl.math


if __name__ == "__main__":
    patch_interpreter()
    from fraudft.cli import main

    sys.exit(main(sys.argv[1:]))
