"""Hand-written sentences with known meanings, embedded by the packaged MiniLM, for the tests
of search by meaning and custom axes (a few dozen: the model embeds them in about a second)."""

from __future__ import annotations

import pyarrow as pa

__all__ = ["SENTENCES", "TOPICS", "REVIEWS", "sentence_table"]

TOPICS = {
    "refund": "I want a refund: please return the money you charged to my card.",
    "password": "I forgot my password and cannot log in to my account.",
    "delivery": "The parcel has not arrived yet; where is my delivery?",
    "cancel": "Please cancel my subscription before the next billing date.",
    "weather": "It will rain all afternoon, so take an umbrella.",
    "recipe": "Whisk the eggs with sugar, then fold in the flour and bake for twenty minutes.",
    "football": "The striker scored twice in the final minutes of the match.",
    "space": "The telescope photographed a distant galaxy full of young stars.",
    "piano": "She practised the piano sonata every morning before school.",
    "garden": "Water the tomato plants and pull the weeds along the fence.",
    "train": "The train to the airport leaves from platform four at noon.",
    "doctor": "The doctor prescribed antibiotics for the throat infection.",
}
# (sentiment rank, text): 0 terrible ... 2 wonderful
REVIEWS = [
    (0, "This film was terrible: a boring, painful waste of two hours."),
    (0, "Awful food, rude staff, I would never eat here again."),
    (0, "The worst hotel I have ever stayed in, dirty and noisy."),
    (1, "The film was okay, nothing special but watchable."),
    (1, "An average meal, fine but forgettable."),
    (1, "The hotel was acceptable for one night, neither good nor bad."),
    (2, "A wonderful film, moving and beautifully acted; I loved it."),
    (2, "Delicious food and the friendliest staff, an amazing evening."),
    (2, "A fantastic hotel, spotless rooms and a lovely view, highly recommended."),
]
SENTENCES = [*TOPICS.values(), *(text for _, text in REVIEWS)]


def sentence_table(model) -> pa.Table:
    """The sentences with their topic or sentiment and ``model``'s embeddings, the model recorded."""
    from projector._vectors import matrix_to_column
    from projector.embedding import with_model_info

    kinds = [*TOPICS, *(["terrible", "okay", "wonderful"][rank] for rank, _ in REVIEWS)]
    table = pa.table({"text": SENTENCES, "kind": kinds, "embedding": matrix_to_column(model.encode(SENTENCES))})
    return with_model_info(table, "embedding", model.info)
