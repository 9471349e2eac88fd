"""Stand-in media for checks and the sample demo: real faces from the public-domain NASA portrait that scikit-image ships
(no download), as photos, moving video, large canvases and groups."""

from __future__ import annotations

from pathlib import Path


def write_face_photo(path: Path | str) -> Path:
    """A real face photo: the public-domain NASA portrait of Eileen Collins that scikit-image ships (no download)."""
    import cv2
    from skimage import data

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def write_moving_face_video(path: Path | str, frames: int, fps: float = 30.0, step_px: int = 4) -> Path:
    """A 640x480 mp4v video of one real face (the NASA portrait at 400 px) sliding right by `step_px` a frame."""
    import cv2
    import numpy as np
    from skimage import data

    face = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (400, 400))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    for step in range(frames):
        frame = np.full((480, 640, 3), 90, np.uint8)
        x = 20 + (step * step_px) % 200
        frame[40:440, x : x + 400] = face
        writer.write(frame)
    writer.release()
    return Path(path)


ASTRONAUT_FACE = (150, 40, 150, 150)  # x, y, w, h of Eileen Collins' face in scikit-image's astronaut photo (512 x 512)


def portraits_on_canvas(height: int, width: int, face: int):
    """A grey BGR canvas with the NASA portrait, scaled so her face is `face` px wide, pasted flush into each corner
    and the centre; and the five face boxes (x, y, w, h) where they landed."""
    import cv2
    import numpy as np
    from skimage import data

    scale = face / ASTRONAUT_FACE[2]
    portrait = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    side = portrait.shape[0]
    canvas = np.full((height, width, 3), 200, np.uint8)
    bottom, right = height - side, width - side
    expected = []
    for top, left in ((0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)):
        canvas[top : top + side, left : left + side] = portrait
        x, y, w, h = ASTRONAUT_FACE
        expected.append((int(left + x * scale), int(top + y * scale), int(w * scale), int(h * scale)))
    return canvas, expected


def five_face_frame():
    """A 640x480 BGR frame holding five real faces (the NASA portrait's head at 200 px) in two rows: a group for the demo."""
    import cv2
    import numpy as np
    from skimage import data

    head = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[0:300, 100:400], (200, 200), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 100, np.uint8)
    for x, y in ((10, 20), (220, 20), (430, 20), (110, 250), (330, 250)):
        frame[y : y + 200, x : x + 200] = head
    return frame


TITLE = ("GOOD", 0, 4.0)  # text, OpenCV font (0: Hershey simplex), scale: round letters BlazeFace scores up to 0.6


def write_moving_title_video(path: Path | str, frames: int, fps: float = 30.0) -> Path:
    """A 640x480 mp4v video of a white title on black sliding right a pixel a frame, as film titles and credits do:
    its round letters pass BlazeFace's threshold on about a third of the frames, and no face is in it."""
    import cv2
    import numpy as np

    text, font, scale = TITLE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    for step in range(frames):
        frame = np.zeros((480, 640, 3), np.uint8)
        cv2.putText(frame, text, (60 + step, 300), font, scale, (255, 255, 255), int(3 * scale), cv2.LINE_AA)
        writer.write(frame)
    writer.release()
    return Path(path)
