"""The domain's words: fabrics, techniques, shapes, subjects, painters and find-spots.

Public-domain archaeological vocabulary used to generate the synthetic corpus, to write
captions in the VaseVQA-3D style and to split a caption into its six reward dimensions.
Dates are approximate; BCE years are negative (``c. 525–475 BCE`` → ``(-525, -475)``).
"""
from __future__ import annotations

# Fabric: where a vase was made.  Key = canonical name, value = synonyms found in captions.
FABRICS: dict[str, tuple[str, ...]] = {
    "Athenian": ("attic",),
    "Corinthian": ("protocorinthian",),
    "Laconian": (),
    "Boeotian": (),
    "Euboean": (),
    "Chalcidian": (),
    "East Greek": ("rhodian", "ionian"),
    "Cycladic": (),
    "Apulian": (),
    "Lucanian": (),
    "Campanian": (),
    "Paestan": (),
    "Sicilian": (),
    "Etruscan": (),
}

# Technique with its rough period (start, end) in signed years.
TECHNIQUES: dict[str, tuple[int, int]] = {
    "black-figure": (-630, -480),
    "red-figure": (-530, -300),
    "white-ground": (-470, -400),
    "bilingual": (-530, -500),
    "Six's technique": (-530, -480),
    "black-gloss": (-600, -300),
    "Geometric": (-900, -700),
    "Orientalizing": (-700, -600),
    "West Slope": (-325, -150),
    "Gnathian": (-370, -270),
}
TECHNIQUE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "black-figure": ("black figure", "blackfigure"),
    "red-figure": ("red figure", "redfigure"),
    "white-ground": ("white ground",),
    "bilingual": (),
    "Six's technique": ("six technique", "six's"),
    "black-gloss": ("black-glaze", "black glaze", "black gloss"),
    "Geometric": (),
    "Orientalizing": ("orientalising",),
    "West Slope": (),
    "Gnathian": (),
}

# Shape: canonical name -> family (the silhouette family a renderer draws).
SHAPES: dict[str, str] = {
    "amphora": "amphora",
    "neck-amphora": "amphora",
    "belly-amphora": "amphora",
    "Panathenaic amphora": "amphora",
    "pelike": "pelike",
    "stamnos": "stamnos",
    "hydria": "hydria",
    "kalpis": "hydria",
    "loutrophoros": "loutrophoros",
    "column-krater": "krater",
    "volute-krater": "krater",
    "calyx-krater": "krater",
    "bell-krater": "krater",
    "krater": "krater",
    "dinos": "dinos",
    "oinochoe": "oinochoe",
    "olpe": "oinochoe",
    "prochous": "oinochoe",
    "kylix": "kylix",
    "lip cup": "kylix",
    "band cup": "kylix",
    "skyphos": "skyphos",
    "mastoid": "skyphos",
    "kantharos": "kantharos",
    "rhyton": "rhyton",
    "lekythos": "lekythos",
    "squat lekythos": "lekythos",
    "aryballos": "aryballos",
    "alabastron": "alabastron",
    "askos": "askos",
    "pyxis": "pyxis",
    "lekanis": "lekanis",
    "lebes gamikos": "lebes",
    "lebes": "lebes",
    "psykter": "psykter",
    "plate": "plate",
}

# Decoration: main subjects and ornament.
SUBJECTS: tuple[str, ...] = (
    "Herakles and the Nemean lion",
    "Herakles and the Erymanthian boar",
    "Theseus and the Minotaur",
    "Athena Promachos",
    "Dionysos with satyrs and maenads",
    "a warrior's departure",
    "a chariot race",
    "Achilles and Ajax playing a board game",
    "an Amazonomachy",
    "a Gigantomachy",
    "a symposion",
    "athletes",
    "women at a fountain house",
    "a woman and Eros",
    "an owl",
    "an animal frieze of lions, goats, sphinxes and sirens",
)
ORNAMENTS: tuple[str, ...] = (
    "meander", "palmettes", "lotus-and-palmette", "rays", "tongues", "ivy", "laurel",
)

PAINTERS: tuple[str, ...] = (
    "Exekias", "Amasis Painter", "Lydos", "Sophilos", "Kleitias", "Andokides Painter",
    "Antimenes Painter", "Leagros Group", "Edinburgh Painter", "Euphronios", "Euthymides",
    "Kleophrades Painter", "Berlin Painter", "Douris", "Makron", "Brygos Painter", "Onesimos",
    "Pan Painter", "Niobid Painter", "Achilles Painter", "Meidias Painter", "Darius Painter",
    "Python", "Asteas",
)

FIND_SPOTS: tuple[str, ...] = (
    "Vulci, Etruria", "Cerveteri (Caere)", "Tarquinia", "Nola", "Capua",
    "Athens, Kerameikos", "Marathon, Attica", "Kameiros, Rhodes", "Gela, Sicily", "Taranto",
)
COLLECTIONS: tuple[str, ...] = (
    "British Museum, London", "Musée du Louvre, Paris", "Metropolitan Museum of Art, New York",
    "Museum of Fine Arts, Boston", "Cleveland Museum of Art",
    "Staatliche Antikensammlungen, Munich", "Antikensammlung, Berlin",
    "National Archaeological Museum, Athens",
)

# The caption prompt of the VaseVQA-3D data (what the model is asked to describe).
CAPTION_PROMPT = (
    "Describe this ancient Greek vase in one caption: the vessel type (lekythos, amphora, "
    "hydria…), the technique (black-figure, red-figure…), the approximate date, the main "
    "decorative subject and the provenance if known."
)
