"""A worker's heap after boot.

A worker loads the app once (modules, templates, questionnaire definitions, the engine and
its compiled statements) and keeps it for its life. Python's cyclic garbage collector would
scan all of it again on every full collection: about 70–95 ms at this heap size, landing in
whichever request happened to allocate the object that set it off (bench/RESULTS.md, the
weekly report page at 50,000 branches). ``settle`` collects once and then freezes what
is left, so later collections look only at what requests allocate.
"""
import gc


def settle() -> None:
    """Collect the boot's garbage, then move every surviving object out of the collector's
    view (``gc.freeze``); reference counting still frees them as usual."""
    gc.collect()
    gc.freeze()
