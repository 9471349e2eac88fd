"""Facial-emotion recognition kit for the Kaggle competition `skillbox-computer-vision-project`.

Importing the package is cheap: TensorFlow, OpenCV and the kaggle client are imported
only by the modules that need them.
"""

__version__ = "0.1.0"
