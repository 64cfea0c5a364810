"""The module of the wheel `segbench-planted-slowdown` (written by segtasks.envs.planted):
in an environment where it is installed, every forward of
segmentation_models_pytorch.UnetPlusPlus takes PERCENT % longer, as a real regression in a
package would. Its .pth file calls `install()` at start-up, which only registers an import
hook (standard library only: nothing heavy is imported until the program imports smp).

Each forward's own duration is measured (after the device finished it, on CUDA), then that
fraction is spent busy-waiting. A compiled model (torch.compile) is slowed where it is
called, outside the compiled graph, and never traced into: no graph break.
"""

import importlib.abc
import sys
import threading
import time

PERCENT = 0.0  # replaced in the wheel's copy
_MARK = "__segbench_planted_slowdown__"
_state = threading.local()


def _slowed(call, applies=lambda module: True):
    # smp imports torch: both are there once a patch runs. is_compiling is the first thing
    # the wrapper does, and dynamo knows it: tracing goes straight to the real call.
    import torch

    is_compiling = torch.compiler.is_compiling

    def sync_if_cuda(args):
        if args and getattr(args[0], "is_cuda", False):
            torch.cuda.synchronize()

    def slowed_call(self, *args, **kwargs):
        if is_compiling() or getattr(_state, "timing", False) or not applies(self):
            return call(self, *args, **kwargs)
        _state.timing = True  # the forward inside a slowed compiled call is not slowed twice
        try:
            sync_if_cuda(args)
            start = time.perf_counter()
            out = call(self, *args, **kwargs)
            sync_if_cuda(args)
            until = time.perf_counter() + (time.perf_counter() - start) * PERCENT / 100.0
            while time.perf_counter() < until:
                pass
            return out
        finally:
            _state.timing = False

    setattr(slowed_call, _MARK, PERCENT)
    return slowed_call


def _patch_smp(module):
    model = module.UnetPlusPlus
    if not hasattr(model.__call__, _MARK):
        model.__call__ = _slowed(model.__call__)


def _is_unetplusplus(compiled):
    smp = sys.modules.get("segmentation_models_pytorch")
    model = getattr(smp, "UnetPlusPlus", None)
    return model is not None and isinstance(getattr(compiled, "_orig_mod", None), model)


def _patch_dynamo(module):
    wrapper = getattr(module, "OptimizedModule", None)
    if wrapper is not None and not hasattr(wrapper.__call__, _MARK):
        wrapper.__call__ = _slowed(wrapper.__call__, _is_unetplusplus)


_PATCHES = {"segmentation_models_pytorch": _patch_smp, "torch._dynamo.eval_frame": _patch_dynamo}


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner, patch):
        self._inner, self._patch = inner, patch

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        self._patch(module)

    def __getattr__(self, name):  # resource readers and the like: the real loader's
        return getattr(self._inner, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        patch = _PATCHES.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


def install():
    """Patch what is imported already; hook the rest."""
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return
    for name, patch in _PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _Finder())
