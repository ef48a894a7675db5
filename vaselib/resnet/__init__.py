"""Stage 01/02: the ResNet image-quality classifier (model, training, prediction)."""
