"""Stand-ins for the weights users download (a TF Hub extractor, ImageNet weights), so offline checks and the rehearsal
run the real loading code on files made here."""

from __future__ import annotations

from pathlib import Path


def write_hub_feature_extractor(path: Path) -> Path:
    """A tiny TF2 SavedModel shaped like a TF Hub image feature extractor (images in, a feature vector out).

    It stands in for the `vit_b8_fe` handle: same signature, same loading path, eight features instead of 768.
    """
    import tensorflow as tf

    class FeatureExtractor(tf.Module):
        def __init__(self):
            self.kernel = tf.Variable(tf.random.stateless_normal([3, 3, 3, 8], seed=[1, 2]) * 0.1, name="w")
            self.bias = tf.Variable(tf.zeros([8]), name="b")

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def __call__(self, images):
            features = tf.nn.relu(tf.nn.conv2d(images, self.kernel, 2, "SAME") + self.bias)
            return tf.reduce_mean(features, axis=[1, 2])

    module = FeatureExtractor()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})
    return Path(path)


def write_keras_imagenet_weights(folder: Path) -> Path:
    """MobileNetV2 feature-extractor weights (random, from weights=None) under the file name keras.applications
    downloads ImageNet's to, in its legacy HDF5 format: a weights dataset for offline kernels."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    model = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(224, 224, 3))
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)
    return path
