"""Measuring one case: the only package that imports torch (and cv2, smp).

Modules import their heavy libraries inside functions where they can, so that reading a
constant from here stays cheap; segtasks.launch runs this code in a case's own process.
"""
