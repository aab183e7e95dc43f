"""The HCP 7T world: the movie-segment timing table, 1-s clips, the seeded 9:1 split, the 4-s lag, and the
HCP-layout twin read back through the HCP reader and `prepare`."""


import numpy as np
import pandas as pd
import pytest

from semvideo.config import ConfigError, load_config
from semvideo.data import hcp
from semvideo.data.check import check_hcp
from semvideo.data.cifti import write_dtseries
from semvideo.data.video import write_video
from tests.conftest import ROOT, generated_and_prepared


# ------------------------------------------------------------------------------------------- timing table
def test_shipped_table_fits_the_real_runs():
    table = hcp.read_segment_table()
    assert tuple(dict.fromkeys(table["run"])) == hcp.MOVIE_RUNS
    assert table.groupby("run", sort=False).size().tolist() == [5, 4, 5, 4]
    for run, rows in table.groupby("run"):
        starts, stops = rows["start_s"].to_numpy(), rows["stop_s"].to_numpy()
        assert starts[0] == 20  # every run opens with 20 s of rest
        np.testing.assert_array_equal(starts[1:] - stops[:-1], 20)  # 20-s rest blocks between segments
        end_rest = hcp.RUN_VOLUMES[run] - stops[-1]
        assert end_rest in (20, 21)  # a final rest; the run length matches the release's volume count
        assert rows["retest"].tolist() == [False] * (len(rows) - 1) + [True]
        assert stops[-1] - starts[-1] == 83  # the same 83-s test-retest montage closes every run


@pytest.mark.parametrize("retest, n_clips", [("each", 3214), ("once", 2965), ("drop", 2882)])
def test_clip_counts_from_the_timing_table(retest, n_clips):
    layout = hcp.HcpLayout(hcp.read_segment_table(), hcp.RUN_VOLUMES)
    clips = hcp.clip_table(layout, 1.0, retest)
    assert len(clips) == n_clips
    assert clips["clip_id"].is_unique
    assert clips["retest"].sum() == {"each": 4 * 83, "once": 83, "drop": 0}[retest]


def test_clip_onsets_lie_inside_movie_segments():
    table = hcp.read_segment_table()
    clips = hcp.clip_table(hcp.HcpLayout(table, hcp.RUN_VOLUMES), 1.0, "each")
    first = clips.groupby("segment", sort=False).first()
    assert first.loc["MOVIE1_s1", "onset_s"] == 20 and first.loc["MOVIE2_s2", "onset_s"] == 267
    assert first.loc["MOVIE4_s4", "onset_s"] == 797 and clips.iloc[-1]["onset_s"] == 879
    merged = clips.assign(segment_no=clips["segment"].str.split("_s").str[1].astype(int)).merge(
        table, left_on=["run", "segment_no"], right_on=["run", "segment"])
    assert len(merged) == len(clips)
    assert ((merged["onset_s"] >= merged["start_s"]) & (merged["onset_s"] + 1 <= merged["stop_s"])).all()
    # no clip starts in a rest block: 20 s of rest never yield a clip
    rest = clips[(clips["run"] == "MOVIE1_7T_AP") & clips["onset_s"].between(264, 283)]
    assert rest.empty


def test_incomplete_last_clip_is_dropped():
    table = pd.DataFrame([{"run": "MOVIE1_7T_AP", "movie_file": "x.mp4", "segment": 1, "start_s": 10,
                           "stop_s": 15.5, "retest": False}])
    clips = hcp.clip_table(hcp.HcpLayout(table, {"MOVIE1_7T_AP": 40}), 2.0)
    assert clips["onset_s"].tolist() == [10.0, 12.0]


def test_bad_segment_tables_are_named(tmp_path):
    path = tmp_path / "segments.csv"
    path.write_text("run,movie_file,segment,start_s,stop_s,retest\nMOVIE1_7T_AP,a.mp4,1,20,10,false\n")
    with pytest.raises(ValueError, match="segments.csv: row 1: start_s 20"):
        hcp.read_segment_table(path)
    path.write_text("run,movie_file,segment,start_s,stop_s,retest\nMOVIE1_7T_AP,a.mp4,1,20,100,false\n"
                    "MOVIE1_7T_AP,a.mp4,2,90,120,false\n")
    with pytest.raises(ValueError, match="overlap"):
        hcp.read_segment_table(path)
    with pytest.raises(FileNotFoundError, match="segment_table"):
        hcp.read_segment_table(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------------------- split and lag
def test_split_is_seeded_disjoint_and_nine_to_one():
    a, b, c = hcp.split_clips(2965, 0.1, 0), hcp.split_clips(2965, 0.1, 0), hcp.split_clips(2965, 0.1, 1)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    test, train = np.flatnonzero(a == "test"), np.flatnonzero(a == "train")
    assert len(test) == 296 and len(train) == 2669
    assert not set(test) & set(train) and len(test) + len(train) == 2965
    assert set(a) == {"train", "test"}
    # spread over the whole session, not a block at the end
    assert test.min() < 300 and test.max() > 2600


def test_lag_pairs_a_clip_with_the_volume_four_seconds_later():
    np.testing.assert_array_equal(hcp.clip_volumes(np.array([20.0, 21.0, 897.0]), 1.0, 4.0, 1.0),
                                  [[24], [25], [901]])
    np.testing.assert_array_equal(hcp.clip_volumes(np.array([10.0]), 2.0, 4.0, 1.0), [[14, 15]])
    np.testing.assert_array_equal(hcp.clip_volumes(np.array([10.0]), 2.0, 4.0, 2.0), [[7]])
    run = np.arange(40, dtype=np.float32)[:, None] * [1.0, -1.0]  # volume t holds t
    responses = hcp.clip_responses(run, hcp.clip_volumes(np.array([3.0, 20.0]), 1.0, 4.0, 1.0))
    np.testing.assert_array_equal(responses, [[7, -7], [24, -24]])
    with pytest.raises(ValueError, match="needs volume 40"):
        hcp.clip_responses(run, hcp.clip_volumes(np.array([36.0]), 1.0, 4.0, 1.0))


def test_frames_are_taken_inside_the_clip():
    times = hcp.clip_frame_times(np.array([20.0]), 1.0, 6)
    assert times.shape == (1, 6) and 20 < times.min() and times.max() < 21
    np.testing.assert_allclose(np.diff(times[0]), 1 / 6)


# ------------------------------------------------------------------------------------------- configs
def test_real_hcp_config_uses_the_shipped_table():
    cfg = load_config(ROOT / "config" / "hcp.yaml", paths={"data_root": "/nonexistent"})
    layout = hcp.hcp_layout(cfg)
    assert layout.runs == hcp.MOVIE_RUNS and layout.n_volumes == hcp.RUN_VOLUMES and layout.tr == 1.0
    assert tuple(cfg.subjects) == hcp.HCP_SUBJECTS
    assert len(hcp.clip_table(layout, cfg.fmri.clip_seconds, cfg.fmri.retest_clips)) == 2965


def test_hcp_options_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="twin.layout"):
        load_config(ROOT / "config" / "hcp_twin.yaml", twin={"layout": "nsd"})
    with pytest.raises(ConfigError, match="HCP ids"):
        load_config(ROOT / "config" / "hcp_twin.yaml", subjects=["subject1", "subject2", "subject3"])
    with pytest.raises(ConfigError, match="TR = 1 s"):
        load_config(ROOT / "config" / "hcp.yaml", fmri={"tr": 2.0})
    with pytest.raises(ConfigError, match="retest_clips"):
        load_config(ROOT / "config" / "hcp.yaml", fmri={"retest_clips": "twice"})


# ------------------------------------------------------------------------------------------- the twin
def tiny_hcp_config(tmp):
    twin = {"layout": "hcp", "tr": 1.0, "frame_size": 32, "fps": 12, "movie_runs": 2, "segments_per_run": 2,
            "segment_seconds": 20, "rest_seconds": 10, "shot_clips": [2, 4], "n_subjects": 1,
            "visual_fraction": 0.06, "vertex_fraction": 0.004, "noise_sd": 0.3}
    return load_config(ROOT / "config" / "hcp_twin.yaml", name="tiny_hcp", subjects=["100610"], twin=twin,
                       fmri=load_config(ROOT / "config" / "hcp_twin.yaml").fmri.model_dump() | {"frame_size": 32},
                       paths={"results": str(tmp / "results"), "figures": str(tmp / "figures")})


@pytest.fixture(scope="module")
def hcp_twin(tmp_path_factory):
    return generated_and_prepared(tiny_hcp_config(tmp_path_factory.mktemp("hcp_twin")))


def test_twin_is_written_in_the_hcp_layout(hcp_twin):
    cfg, paths = hcp_twin
    layout = hcp.hcp_layout(cfg)
    assert layout.runs == ("MOVIE1_7T_AP", "MOVIE2_7T_PA")
    assert layout.n_volumes == {"MOVIE1_7T_AP": 70, "MOVIE2_7T_PA": 70}  # 10 + 2 × (20 + 10)
    for run in layout.runs:
        data, columns, usable = hcp.load_run(hcp.run_path(paths.raw, "100610", run), 70)
        assert data.shape == (70, len(columns)) and usable.all()
        assert hcp.stimulus_path(paths.raw, run).exists()
    assert check_hcp(paths.raw, layout, cfg.subjects) == []
    shipped = pd.read_csv(paths.raw / "movie_segments.csv")
    assert list(shipped.columns) == ["run", "movie_file", "segment", "start_s", "stop_s", "retest"]


def test_twin_round_trips_through_prepare(hcp_twin):
    from semvideo.data.prepared import PreparedData
    from semvideo.data.synthetic.truth import scene_graphs, truth_vertices

    cfg, paths = hcp_twin
    data = PreparedData.from_config(cfg)
    clips = data.clips
    assert len(clips) == 80 and (clips["split"] == "test").sum() == 8  # 2 runs × 2 segments × 20 1-s clips
    np.testing.assert_array_equal(clips["split"], hcp.split_clips(80, 0.1, cfg.fmri.split_seed))
    assert (clips["volume"] == clips["onset_s"] + 4).all()
    graphs = scene_graphs(paths.raw)
    assert set(graphs) == set(clips["clip_id"])
    assert all(graphs[c]["split"] == s for c, s in zip(clips["clip_id"], clips["split"]))
    assert (clips["shot_id"] != "").all()
    for split, n in (("train", 72), ("test", 8)):
        assert data.frames(split).shape == (n, 6, 32, 32, 3)
        assert data.bold("100610", split).shape[0] == n
    voxels = data.voxels("100610")
    selected = data.selected_voxels("100610")
    assert data.bold("100610", "train").shape[1] == len(selected)
    np.testing.assert_array_equal(voxels["selected"], hcp.roi_mask(voxels["grayordinate"].to_numpy()))
    rois = {label[2:] for label in selected["label"]}
    assert rois <= set(cfg.fmri.rois) and {"V1", "MT"} <= rois
    # the truth's simulated vertices outside the 12 ROIs (e.g. FFC, V8) are not decoded
    truth = truth_vertices(paths.raw, "100610")
    outside = truth[~truth["grayordinate"].isin(selected["grayordinate"]) & (truth["family"] != "noise")]
    assert len(outside) and not set(outside["label"].str[2:]) & set(cfg.fmri.rois)
    # a clip's frames are the movie frames rendered for that clip: a grey rest frame never appears
    frames = np.asarray(data.frames("train"), dtype=np.int16)
    assert (np.abs(frames - 128).reshape(len(frames), -1).max(1) > 40).all()


def test_twin_response_peaks_four_seconds_after_the_clip(hcp_twin):
    """The simulator's lag and the reader's lag agree: volume onset + 4 correlates best with the clip's drive."""
    from semvideo.data.preprocess import detrend_zscore
    from semvideo.data.synthetic.truth import driving_signal, truth_vertices

    cfg, paths = hcp_twin
    truth = truth_vertices(paths.raw, "100610")
    driven = truth.loc[truth["responsive"] & (truth["family"] != "noise"), "grayordinate"].to_numpy()
    clips = hcp.clip_table(hcp.hcp_layout(cfg), 1.0)
    scores = np.zeros(9)
    for run in ("MOVIE1_7T_AP", "MOVIE2_7T_PA"):
        data, columns, _ = hcp.load_run(hcp.run_path(paths.raw, "100610", run))
        bold = detrend_zscore(data)[:, np.searchsorted(columns, driven)]
        drive = driving_signal(paths.raw, "100610", run)[driven].to_numpy()
        onsets = clips.loc[clips["run"] == run, "onset_s"].to_numpy().astype(int)
        for lag in range(9):
            b, d = bold[onsets + lag], drive[onsets]
            b, d = (b - b.mean(0)) / (b.std(0) + 1e-9), (d - d.mean(0)) / (d.std(0) + 1e-9)
            scores[lag] += np.nanmean((b * d).mean(0))
    assert scores.argmax() == 4, scores
    assert scores[4] > 0.3 and scores[0] < 0.5 * scores[4], scores


def test_twin_is_deterministic(hcp_twin, tmp_path):
    from semvideo.data.synthetic import generate_twin
    from semvideo.paths import RunPaths

    cfg, paths = hcp_twin
    again = tiny_hcp_config(tmp_path)
    generate_twin(again)
    raw = RunPaths.from_config(again).raw
    a, _, _ = hcp.load_run(hcp.run_path(paths.raw, "100610", "MOVIE2_7T_PA"))
    b, _, _ = hcp.load_run(hcp.run_path(raw, "100610", "MOVIE2_7T_PA"))
    np.testing.assert_array_equal(a, b)
    assert (paths.raw / "truth" / "scene_graphs.jsonl").read_text() == (raw / "truth" / "scene_graphs.jsonl").read_text()


# ------------------------------------------------------------------------------------------- check-data
def _fake_real_layout(root, runs=("MOVIE1_7T_AP", "MOVIE2_7T_PA")):
    """A tiny HCP-layout download: short movies and runs with the real volume counts but 3 columns."""
    table = hcp.read_segment_table()
    table = table[table["run"].isin(runs)].reset_index(drop=True)
    layout = hcp.HcpLayout(table, {r: hcp.RUN_VOLUMES[r] for r in runs})
    for run in runs:
        seconds = float(table.loc[table["run"] == run, "stop_s"].max())
        write_video(hcp.stimulus_path(root, run), np.zeros((int(seconds) + 1, 16, 16, 3), np.uint8), fps=1)
        for subject in ("100610", "102816"):
            data = np.random.default_rng(0).normal(size=(hcp.RUN_VOLUMES[run], 3)).astype(np.float32)
            write_dtseries(hcp.run_path(root, subject, run), data, np.array([5, 6, 7]), 1.0)
    return layout


def test_check_data_lists_each_hcp_problem(tmp_path):
    layout = _fake_real_layout(tmp_path)
    subjects = ["100610", "102816"]
    assert check_hcp(tmp_path, layout, subjects) == []
    missing = hcp.run_path(tmp_path, "102816", "MOVIE2_7T_PA")
    missing.unlink()
    short = hcp.run_path(tmp_path, "100610", "MOVIE1_7T_AP")
    write_dtseries(short, np.ones((900, 3), np.float32), np.array([5, 6, 7]), 1.0)
    wrong_tr = hcp.run_path(tmp_path, "102816", "MOVIE1_7T_AP")
    write_dtseries(wrong_tr, np.ones((921, 3), np.float32), np.array([5, 6, 7]), 2.0)
    junk = hcp.stimulus_path(tmp_path, "MOVIE1_7T_AP")
    junk.write_bytes(b"junk")
    brief = hcp.stimulus_path(tmp_path, "MOVIE2_7T_PA")
    write_video(brief, np.zeros((100, 16, 16, 3), np.uint8), fps=1)
    problems = dict(check_hcp(tmp_path, layout, subjects))
    assert set(problems) == {missing, short, wrong_tr, junk, brief}
    assert problems[missing] == "missing"
    assert problems[short] == "900 volumes, expected 921 for MOVIE1_7T_AP; the run is incomplete"
    assert problems[wrong_tr] == "TR 2.0 s, expected 1.0 s"
    assert "unreadable video" in problems[junk] and "expected 898 s" in problems[brief]


def test_check_data_command_on_hcp_config(tmp_path, capsys):
    from semvideo.data.check import check_data

    _fake_real_layout(tmp_path, runs=hcp.MOVIE_RUNS)
    cfg = load_config(ROOT / "config" / "hcp.yaml", subjects=["100610", "102816"],
                      paths={"data_root": str(tmp_path)})
    check_data(cfg)
    assert "checked 12 files" in capsys.readouterr().out
    hcp.run_path(tmp_path, "100610", "MOVIE3_7T_PA").unlink()
    with pytest.raises(SystemExit):
        check_data(cfg)
    out = capsys.readouterr().out
    assert "tfMRI_MOVIE3_7T_PA_Atlas.dtseries.nii: missing" in out and "1 problem(s)" in out
