"""Batches: many requests from one input (`--batch FILE`, several audio files), run with bounded
concurrency, recorded item by item in the run log so that a batch can be resumed.

    items.py        the input, line by line: prompts, paths or JSON objects, with line numbers
    fingerprint.py  which input a batch was made from (content, kind and defaults)
    store.py        the batches and batch_items tables (migration m008_batches)
    seam.py         the one function that runs one item (today on services/, later the engine)
    runner.py       concurrency, stop (Ctrl-C, --max-cost), resume
    progress.py     done / failed / in flight / cost / rate / ETA, for whoever draws it
"""
