"""benchmarks/report.py: stage costs from Snakemake's benchmark files."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location("bench_report", Path(__file__).parents[1] / "benchmarks" / "report.py")
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_costs_and_summary_from_benchmark_files(tmp_path):
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "train_sad.tsv").write_text(HEADER + "120.5\t0:02:00\t1400.0\t1\t1\t1\t0\t0\t90\t200.0\n")
    (bench / "prepare.tsv").write_text(HEADER + "30.0\t0:00:30\t800.0\t1\t1\t1\t0\t0\t50\t25.0\n")
    costs = report.rule_costs(tmp_path)
    assert list(costs["rule"]) == ["train_sad", "prepare"]  # longest first
    assert report.summary(costs) == {"total_wall_s": 150.5, "total_cpu_s": 225.0, "peak_rss_mb": 1400.0}
    assert "peak_cuda_mb" not in costs  # no stage recorded a device
    (bench / "train-sad_device.json").write_text('{"command": "train-sad", "device": "cuda:0", "peak_cuda_mb": 812.5}')
    costs = report.rule_costs(tmp_path).set_index("rule")
    assert costs.loc["train_sad", "peak_cuda_mb"] == 812.5 and costs.loc["train_sad", "device"] == "cuda:0"
    assert costs["peak_cuda_mb"].isna()["prepare"]  # a rule without a record (e.g. a notebook) stays empty


def test_a_run_without_benchmarks_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="snakemake --cores 2 all"):
        report.rule_costs(tmp_path)


def test_render_sampler_compares_each_metric_clip_by_clip():
    spec = importlib.util.spec_from_file_location("render_sampler",
                                                  Path(__file__).parents[1] / "benchmarks" / "render_sampler.py")
    sampler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sampler)
    clips = {"method": ["SemVideo"] * 3, "subject": ["s1"] * 3, "clip_id": ["a", "b", "c"]}
    reference = pd.DataFrame({**clips, **{m: [1.0, 2.0, 3.0] for m in sampler.METRICS}})
    shifted = reference.copy()
    shifted["EPE"] = [1.5, 2.4, 3.7]  # +0.5, +0.4, +0.7: mean +0.533; in another clip order below
    table = sampler.compare({"ddim:6": reference, "dpm:4": shifted.iloc[::-1]}).set_index("metric")
    assert table.loc["EPE", "ddim:6"] == 2.0 and table.loc["EPE", "dpm:4"] == pytest.approx(2.5333, abs=1e-4)
    assert table.loc["EPE", "dpm:4 − ddim:6"] == pytest.approx(0.5333, abs=1e-4)
    # paired t over the differences (0.5, 0.4, 0.7): t = 0.5333 / (0.1528 / √3) = 6.05, two-sided p (2 df) = 0.0263
    assert table.loc["EPE", "p dpm:4"] == pytest.approx(0.0263, abs=2e-4)
    assert table.loc["SSIM", "dpm:4 − ddim:6"] == 0


LOG = """Building DAG of jobs...
[Fri Dec  4 22:33:04 2026]
localrule generate_twin:
    output: results/smoke/raw
[Fri Dec  4 22:33:12 2026]
Finished jobid: 3 (Rule: generate_twin)
1 of 3 steps (33%) done
[Fri Dec  4 22:33:12 2026]
rule prepare:
[Fri Dec  4 22:33:12 2026]
localrule caption:
[Fri Dec  4 22:33:15 2026]
Finished jobid: 5 (Rule: caption)
[Fri Dec  4 22:33:16 2026]
Finished jobid: 2 (Rule: prepare)
[Fri Dec  4 22:34:01 2026]
rule render:
"""


def test_job_times_read_when_each_job_started_and_finished_from_the_snakemake_log():
    times = report.job_times(LOG).set_index("rule")
    assert list(times.index) == ["generate_twin", "prepare", "caption", "render"]  # in order of start
    assert times.loc["generate_twin"].tolist() == [0.0, 8.0]
    assert times.loc["prepare"].tolist() == [8.0, 12.0] and times.loc["caption"].tolist() == [8.0, 11.0]
    assert times.loc["render", "start_s"] == 57.0 and pd.isna(times.loc["render", "end_s"])  # still running


def test_job_times_refuse_a_file_that_is_not_a_snakemake_log():
    with pytest.raises(ValueError, match="no job start"):
        report.job_times("a log of something else\n")
