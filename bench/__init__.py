"""evalsvc benchmarks: ``scripts/bench`` (see bench/README.md).

Every figure is printed next to a baseline measured in the same run, because only same-run
ratios mean anything on a small, noisy machine. All traffic stays on 127.0.0.1, every
database is created fresh for the run and dropped afterwards, and every loop is bounded in
count and in time.
"""
