"""Stage 01/02: the quality classifier's model, data split, training and classification."""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vaselib.params import ParameterError, validate
from vaselib.resnet import data as qdata
from vaselib.resnet import classify, predict, train
from vaselib.resnet.model import (QualityClassifier, infer_arch, load_checkpoint,
                                   quality_head, save_checkpoint)


def _write_separable(root, n=24, size=40, seed=0):
    """0/ = dark noisy squares, 1/ = bright smooth gradients: trivially separable."""
    rng = np.random.default_rng(seed)
    for label in (0, 1):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            if label == 0:
                arr = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
            else:
                ramp = np.linspace(170, 250, size, dtype=np.float32)
                arr = np.stack([np.tile(ramp, (size, 1))] * 3, -1).astype(np.uint8)
            Image.fromarray(arr).save(root / str(label) / f"img_{i:03d}.png")
    return root


def test_head_shapes_match_the_original():
    head = quality_head(2048)
    shapes = [tuple(m.weight.shape) for m in head if isinstance(m, torch.nn.Linear)]
    assert shapes == [(512, 2048), (256, 512), (2, 256)]
    assert [type(m).__name__ for m in head] == [
        "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert [m.p for m in head if isinstance(m, torch.nn.Dropout)] == [0.5, 0.3]


def test_state_dict_keys_use_the_original_resnet_prefix():
    keys = list(QualityClassifier("resnet50").state_dict())
    assert keys[0] == "resnet.conv1.weight"
    assert {"resnet.fc.0.weight", "resnet.fc.3.weight", "resnet.fc.6.bias"} <= set(keys)
    assert all(k.startswith("resnet.") for k in keys)


@pytest.mark.parametrize("arch", ["resnet18", "resnet34", "resnet50"])
def test_arch_is_inferred_from_a_bare_state_dict(arch):
    assert infer_arch(QualityClassifier(arch).state_dict()) == arch


def test_original_format_checkpoint_predicts_identically(tmp_path):
    """A checkpoint shaped like the original's (4 keys, no arch) loads and predicts the same."""
    torch.manual_seed(0)
    model = QualityClassifier("resnet50").eval()
    opt = torch.optim.Adam(model.parameters())
    original = {"epoch": 3, "model_state_dict": OrderedDict(model.state_dict()),
                "optimizer_state_dict": opt.state_dict(), "val_acc": 0.97}
    path = tmp_path / "best_image_quality_model.pth"
    torch.save(original, path)
    loaded, ckpt = load_checkpoint(path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert loaded.arch == "resnet50" and ckpt["val_acc"] == 0.97


def test_saved_checkpoint_has_the_original_keys(tmp_path):
    model = QualityClassifier("resnet18")
    opt = torch.optim.Adam(model.parameters())
    path = save_checkpoint(tmp_path / "c.pth", model, opt, epoch=1, val_acc=0.5)
    ckpt = torch.load(path, weights_only=False)
    assert {"epoch", "model_state_dict", "optimizer_state_dict", "val_acc"} <= set(ckpt)


def test_unreadable_checkpoint_names_the_file(tmp_path):
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="broken.pth"):
        load_checkpoint(bad)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoint(tmp_path / "missing.pth")


def test_split_is_80_10_10_stratified_and_seeded():
    labels = [0] * 50 + [1] * 50
    a = qdata.split_indices(labels, 0.1, 0.1, 42)
    b = qdata.split_indices(labels, 0.1, 0.1, 42)
    assert (len(a.train), len(a.val), len(a.test)) == (80, 10, 10)
    assert a == b
    assert not set(a.train) & set(a.val) | set(a.train) & set(a.test) | set(a.val) & set(a.test)
    assert sum(labels[i] for i in a.test) == 5


def test_augmentation_reaches_the_training_split_only(tmp_path):
    _write_separable(tmp_path, n=10)
    paths, labels = qdata.list_labelled(tmp_path)
    split = qdata.split_indices(labels, 0.2, 0.2, 0)
    sets = qdata.make_datasets(paths, labels, split, 32, augment=True)
    names = {k: [type(t).__name__ for t in ds.transform.transforms] for k, ds in sets.items()}
    assert "ColorJitter" in names["train"] and "RandomHorizontalFlip" in names["train"]
    for k in ("val", "test"):
        assert names[k] == ["Resize", "ToTensor", "Normalize"]
    # the evaluation splits are deterministic, the training split is not
    torch.manual_seed(0)
    assert torch.equal(sets["val"][0][0], sets["val"][0][0])
    assert not torch.equal(sets["train"][0][0], sets["train"][0][0])


def test_missing_class_folder_is_a_clear_error(tmp_path):
    (tmp_path / "0").mkdir()
    with pytest.raises(FileNotFoundError, match="1/"):
        qdata.list_labelled(tmp_path)


def test_parameters_are_validated():
    with pytest.raises(ParameterError, match="epochs"):
        validate("01_resnet_train", {"epochs": 0})
    with pytest.raises(ParameterError, match="unknown parameter 'epoch'"):
        validate("01_resnet_train", {"epoch": 3})
    with pytest.raises(ParameterError, match="arch"):
        validate("01_resnet_train", {"arch": "vgg16"})
    with pytest.raises(ParameterError, match="threshold"):
        validate("02_classify", {"threshold": 1.5})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    data = _write_separable(root / "labelled", n=30)
    p = validate("01_resnet_train", dict(data_dir=str(data), output_dir=str(root / "out"),
                                         arch="resnet18", image_size=32, epochs=3,
                                         batch_size=16, lr=1e-3))
    return root, train.run(p, progress=False)


def test_training_separates_a_separable_set(trained):
    root, result = trained
    assert result.test_accuracy == 1.0
    assert result.counts == {"images": 60, "train": 48, "val": 6, "test": 6,
                             "low_quality": 30, "high_quality": 30}
    saved = json.loads((root / "out" / "training_results.json").read_text())
    assert saved["test_accuracy"] == result.test_accuracy
    assert len(saved["history"]["val_acc"]) == 3
    assert (root / "out" / "training_history.png").stat().st_size > 1000
    assert (root / "out" / "confusion_matrix.png").is_file()


def test_resume_continues_as_the_uninterrupted_run_would(trained):
    """3 epochs, then resumed to 4, equals 4 epochs in one go (RNG states are restored)."""
    root, result = trained
    common = dict(data_dir=str(root / "labelled"), arch="resnet18", image_size=32,
                  batch_size=16, lr=1e-3)
    resumed = train.run(validate("01_resnet_train", dict(
        common, output_dir=str(root / "resumed"), epochs=4,
        resume=str(root / "out" / "last_checkpoint.pth"))), progress=False)
    whole = train.run(validate("01_resnet_train", dict(
        common, output_dir=str(root / "whole"), epochs=4)), progress=False)
    assert len(resumed.history["val_acc"]) == 4
    assert resumed.history == whole.history


def test_classify_sorts_reports_and_never_touches_sources(trained, tmp_path):
    root, result = trained
    src = tmp_path / "photos"
    for label in (0, 1):  # the same file names in two sub-folders must not collide
        for sub in ("a", "b"):
            (src / sub).mkdir(parents=True, exist_ok=True)
            for f in sorted((root / "labelled" / str(label)).glob("*.png"))[:3]:
                (src / sub / f"{label}_{f.name}").write_bytes(f.read_bytes())
    (src / "a" / "corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    before = {p: p.read_bytes() for p in src.rglob("*")if p.is_file()}
    p = validate("02_classify", dict(model_path=str(result.checkpoint), input_dir=str(src),
                                     output_dir=str(tmp_path / "out"), batch_size=4))
    res = classify.run(p, progress=False)
    assert res.counts["total"] == 13 and res.counts["failed"] == 1
    assert res.counts["high_quality"] == 6 and res.counts["low_quality"] == 6
    assert res.verified
    assert (tmp_path / "out" / "1" / "a" / "1_img_000.png").is_file()
    assert (tmp_path / "out" / "1" / "b" / "1_img_000.png").is_file()
    assert res.failures[0]["file"] == "a/corrupt.jpg" and "decode" in res.failures[0]["reason"]
    report = json.loads(res.report.read_text())
    assert report["verification"]["outputs_plus_failures_equal_inputs"] is True
    pred = report["predictions"][0]
    assert abs(pred["prob_low"] + pred["prob_high"] - 1) < 1e-5
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before
    # idempotent: a second run gives the same report and the same files
    again = classify.run(p, progress=False)
    assert again.counts == res.counts
    # the threshold acts: demanding certainty above every probability files all to 0/
    strict = classify.run(validate("02_classify", dict(
        model_path=str(result.checkpoint), input_dir=str(src), output_dir=str(tmp_path / "strict"),
        threshold=1.0)), progress=False)
    assert strict.counts["high_quality"] == sum(
        1 for x in res.predictions if x.prob_high >= 1.0)


def test_output_inside_input_is_refused(trained, tmp_path):
    root, result = trained
    p = validate("02_classify", dict(model_path=str(result.checkpoint),
                                     input_dir=str(root / "labelled"),
                                     output_dir=str(root / "labelled" / "sorted")))
    with pytest.raises(ValueError, match="overlap"):
        classify.run(p, progress=False)


def test_batched_channels_last_inference_equals_the_plain_model(trained):
    """The fast path (batches, channels-last, inference mode) gives the plain model's
    probabilities, image by image."""
    from PIL import Image

    from vaselib.resnet.data import eval_transform
    from vaselib.resnet.model import load_checkpoint

    root, result = trained
    model, ckpt = load_checkpoint(result.checkpoint)
    paths = sorted((root / "labelled").rglob("*.png"))[:10]
    probs, failures = predict.predict_files(model, paths, 32, torch.device("cpu"),
                                             batch_size=4)
    plain, _ = load_checkpoint(result.checkpoint)
    tf = eval_transform(32, ckpt.get("interpolation", "bilinear"))
    with torch.no_grad():
        for i, p in enumerate(paths):
            ref = torch.softmax(plain(tf(Image.open(p).convert("RGB"))[None]), 1)[0]
            assert probs[i] == pytest.approx(ref.tolist(), abs=1e-5)
    assert not failures


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precision_paths_run_and_stay_close(trained, precision):
    from vaselib.resnet.model import load_checkpoint

    root, result = trained
    paths = sorted((root / "labelled").rglob("*.png"))[:8]
    model, _ = load_checkpoint(result.checkpoint)
    ref, _ = predict.predict_files(model, paths, 32, torch.device("cpu"))
    got, _ = predict.predict_files(model, paths, 32, torch.device("cpu"), precision=precision)
    assert max(abs(got[i][1] - ref[i][1]) for i in ref) < 0.05


def test_torch_compile_classifies_like_eager_in_padded_batches(trained):
    from vaselib.resnet.model import load_checkpoint

    root, result = trained
    paths = sorted((root / "labelled").rglob("*.png"))[:7]          # batches of 3: 3, 3, 1
    model, _ = load_checkpoint(result.checkpoint)
    ref, _ = predict.predict_files(model, paths, 32, torch.device("cpu"), batch_size=3)
    got, _ = predict.predict_files(model, paths, 32, torch.device("cpu"), batch_size=3,
                                   torch_compile=True)
    assert sorted(got) == sorted(ref) == list(range(7))
    for i in ref:
        assert got[i] == pytest.approx(ref[i], abs=1e-5)
    with pytest.raises(ValueError, match="int8"):
        predict.compiled_forward(model, 32, 3, torch.device("cpu"), "int8")
    from vaselib.resnet.params import ClassifyParams
    with pytest.raises(ValueError, match="torch_compile does not take precision int8"):
        ClassifyParams(torch_compile=True, precision="int8")


def test_onnxruntime_classifies_like_torch_and_the_stage_records_it(trained, tmp_path,
                                                                     monkeypatch):
    """The reference is torch's fp32 forward of the same checkpoint on the same images."""
    from vaselib.resnet.model import load_checkpoint
    from vaselib.resnet.params import ClassifyParams

    monkeypatch.setenv("VASELIB_DATA", str(tmp_path / "data"))
    root, result = trained
    paths = sorted((root / "labelled").rglob("*.png"))[:7]          # batches of 3: 3, 3, 1
    model, _ = load_checkpoint(result.checkpoint)
    ref, _ = predict.predict_files(model, paths, 32, torch.device("cpu"), batch_size=3)
    got, _ = predict.predict_files(model, paths, 32, torch.device("cpu"), batch_size=3,
                                   runtime="onnxruntime", model_key="test")
    assert sorted(got) == sorted(ref) == list(range(7))
    for i in ref:
        assert got[i] == pytest.approx(ref[i], abs=1e-5)
    r = classify.run(ClassifyParams(model_path=str(result.checkpoint),
                                    input_dir=str(root / "labelled"),
                                    output_dir=str(tmp_path / "out"), runtime="onnxruntime"),
                     progress=False)
    report = json.loads(r.report.read_text())
    assert report["runtime"] == "onnxruntime" and report["precision"] == "fp32"
    # the stage keys its export by the checkpoint file's SHA-256, as a Ray worker does
    from vaselib import onnx_runtime
    digest = hashlib.sha256(Path(result.checkpoint).read_bytes()).hexdigest()
    assert onnx_runtime.cache_path(f"quality-classifier|{digest}",
                                   torch.zeros(2, 3, 32, 32), model).is_file()
    torch_run = classify.run(ClassifyParams(model_path=str(result.checkpoint),
                                            input_dir=str(root / "labelled"),
                                            output_dir=str(tmp_path / "out2")), progress=False)
    assert [x.predicted_class for x in r.predictions] == \
        [x.predicted_class for x in torch_run.predictions]
    with pytest.raises(ValueError, match="runtime: onnxruntime"):
        ClassifyParams(runtime="onnxruntime", precision="int8")


def test_a_checkpoints_hash_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    """remembered_file_sha256 is the file's SHA-256 (reference: hashlib over the bytes); a
    changed file gives its new hash, an unchanged one is not read again."""
    from vaselib import files

    ckpt, memo = tmp_path / "model.pth", tmp_path / "sha256.json"
    ckpt.write_bytes(b"first weights")
    first = hashlib.sha256(b"first weights").hexdigest()
    assert files.remembered_file_sha256(ckpt, memo) == first
    reads = []
    real = files.file_sha256
    monkeypatch.setattr(files, "file_sha256", lambda p: reads.append(p) or real(p))
    assert files.remembered_file_sha256(ckpt, memo) == first and reads == []
    ckpt.write_bytes(b"second weights, longer")
    assert files.remembered_file_sha256(ckpt, memo) == \
        hashlib.sha256(b"second weights, longer").hexdigest()
    assert len(reads) == 1
