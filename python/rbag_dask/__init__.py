"""rbag on Dask distributed.

rbag-dask plans one task per byte range of each input file (one per
compressed file), runs ``rbag ... --partial --byte-range START:END FILE`` on
the workers, merges the partial results with a tree of ``rbag merge
--partial`` tasks (parts kept in input order) and writes the final output
with ``rbag merge``, byte for byte what rbag prints on one machine.
"""

__version__ = "0.1.0"
