"""The competition's nine classes; the label index is their alphabetical order."""

CLASSES: tuple[str, ...] = (
    "anger",
    "contempt",
    "disgust",
    "fear",
    "happy",
    "neutral",
    "sad",
    "surprise",
    "uncertain",
)
NUM_CLASSES = len(CLASSES)
CLASS_INDEX: dict[str, int] = {name: index for index, name in enumerate(CLASSES)}
