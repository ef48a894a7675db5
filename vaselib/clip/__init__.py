"""CLIP stages: backends (open_clip, local HuggingFace folders), cached image embeddings,
the quality (fragment) score of stage 03 and the best-view choice of stage 04.

Modules: ``params`` (schemas), ``backends``, ``embeddings`` (on-disk cache), ``scoring``
(score, thresholds, analysis), ``demo_model`` (the small offline CLIP), ``quality`` (stage
03 ``run``), ``best_view`` (stage 04 ``run``), ``plots`` and ``widgets``.
"""
