"""Out-of-core evaluation: features on disk, classifier inputs dealt into blocks."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.stats import norm

from caloforge.data import Showers
from caloforge.evaluate import classifier as clf
from caloforge.evaluate.classifier_inputs import ArrayRows, HighLevelRows, high_level_vector
from caloforge.evaluate.feature_table import FeatureTable
from caloforge.evaluate.features import HighLevelFeatures, compute_features
from caloforge.geometry import get_geometry


@pytest.fixture(scope="module")
def features():
    geo = get_geometry("ds1-photons")
    rng = np.random.default_rng(3)
    showers = Showers(rng.uniform(1e3, 1e5, 300), rng.exponential(20.0, (300, geo.n_voxels)))
    return compute_features(showers, geo)


def test_feature_table_matches_in_memory_features(features) -> None:
    table = FeatureTable(features.layers, features.angular_layers)
    for start in range(0, 300, 128):  # uneven chunks
        table.append(_rows(features, start, start + 128))
    named = features.named()
    assert len(table) == 300 and table.names() == list(named)
    for name in named:
        np.testing.assert_allclose(table.feature(name), named[name], rtol=1e-6)
    np.testing.assert_allclose(table.mean("e_layer"), features.e_layer.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(HighLevelRows(table).matrix(), high_level_vector(features),
                               rtol=1e-5)
    joined = FeatureTable.join([table, table])
    np.testing.assert_allclose(joined.e_inc, np.concatenate([features.e_inc] * 2))
    path = joined.path
    assert os.path.exists(path)
    joined.close()
    assert not os.path.exists(path)


def _rows(features: HighLevelFeatures, start: int, stop: int) -> HighLevelFeatures:
    kwargs = {k: (v[start:stop] if isinstance(v, np.ndarray) else v)
              for k, v in vars(features).items()}
    return HighLevelFeatures(**kwargs)


def test_blocks_deal_every_row_once_and_mix_classes(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(clf, "BLOCK_BYTES", 4 * 10 * 1000)  # 1000 rows of 10 features a block
    rng = np.random.default_rng(0)
    ref, gen = np.arange(50_000.0).reshape(5000, 10), -np.arange(50_000.0).reshape(5000, 10)
    index = [clf._split(np.arange(5000), rng) for _ in range(2)]
    blocks = clf._Blocks([ArrayRows(ref), ArrayRows(gen)], index, 10, rng, str(tmp_path))
    assert [len(n) for n in blocks.names] == [6, 2, 2]
    seen = []
    for k in range(len(blocks.names[0])):
        x, y = blocks.load(0, k, clf.torch.device("cpu"), None)
        assert 0.3 < float(y.mean()) < 0.7  # both classes in every block
        assert len(x) < 1300
        seen.append(x[:, 0].numpy())
    blocks.close()
    expected = np.concatenate([ref[index[0][0], 0], gen[index[1][0], 0]])
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.sort(expected))


def test_multi_block_classifier_reaches_the_optimal_auc(monkeypatch) -> None:
    monkeypatch.setattr(clf, "BLOCK_BYTES", 4 * 8 * 1000)
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(6000, 8)).astype(np.float32)
    gen = rng.normal(size=(6000, 8)).astype(np.float32)
    gen[:, 0] += 1.0
    res = clf.run_classifier(ref, gen, "toy", seed=0)
    assert res.auc == pytest.approx(norm.cdf(1.0 / np.sqrt(2.0)), abs=0.03)  # 0.760
    same = clf.run_classifier(ref, rng.normal(size=(6000, 8)).astype(np.float32), "toy", seed=0)
    assert abs(same.auc - 0.5) < 0.04
