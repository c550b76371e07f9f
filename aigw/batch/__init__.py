"""Batches: many requests from one input (`--batch FILE`, several audio files), run with bounded
concurrency, recorded item by item in the run log so that a batch can be resumed.

    items.py        the input, line by line: prompts, paths or JSON objects, with line numbers
    fingerprint.py  which input a batch was made from (content, kind and defaults)
    ids.py          batch ids (light: the CLI reads argv with it)
    store.py        the batches and batch_items tables (migration m008_batches), reconcile after a crash
    seam.py         the one place an item becomes a run (and its estimate)
    costs.py        --max-cost and the budgets against the whole batch's estimate
    runner.py       concurrency, stop (Ctrl-C, spend reaching --max-cost)
    outcome.py      what one item came to
    progress.py     done / failed / in flight / cost / rate / ETA, for whoever draws it
    run.py          one batch from input to summary: find or make its record, estimate, run
"""
