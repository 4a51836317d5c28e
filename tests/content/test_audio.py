"""Audio: loudness normalization (EBU R128, two passes), AAC/Opus/MP3 and waveform peaks."""

from __future__ import annotations

import json

import pytest

from jobs.content.audio import normalize_filter, process_audio
from odyssey_workers.storage import get_storage
from tests.content.media_samples import clip, integrated_loudness, probe, settings_env, start_run

SUFFIX = {"aac": ".m4a", "opus": ".opus", "mp3": ".mp3"}


def test_quiet_recording_is_normalized_to_the_target_loudness_in_every_format(env, make_asset):
    asset_id = make_asset(clip(seconds=5, video=False, fmt="wav", volume_db=-32), filename="voice.wav")
    start_run(asset_id)

    result = process_audio(asset_id)

    storage = get_storage()
    rows = {r["name"]: r for r in result["renditions"]}
    assert set(rows) == {"audio.aac", "audio.opus", "audio.mp3", "audio.waveform"}
    loudness = result["details"]["loudness"]
    assert loudness["measured_lufs"] < -30
    assert loudness["normalized"] is True
    for fmt, suffix in SUFFIX.items():
        data = storage.read_bytes(rows[f"audio.{fmt}"]["storage_key"])
        assert integrated_loudness(data, suffix) == pytest.approx(-14.0, abs=1.0), fmt
        stream = probe(data, suffix)["streams"][0]
        assert stream["codec_name"] == fmt


def test_bitrates_and_loudness_target_come_from_settings(env, make_asset, monkeypatch):
    settings_env(monkeypatch, content_loudness_target_lufs=-20, content_audio_mp3_kbps=96)
    asset_id = make_asset(clip(seconds=4, video=False, fmt="mp3", volume_db=-6), filename="song.mp3")
    start_run(asset_id)

    result = process_audio(asset_id)

    mp3 = next(r for r in result["renditions"] if r["name"] == "audio.mp3")
    data = get_storage().read_bytes(mp3["storage_key"])
    assert integrated_loudness(data, ".mp3") == pytest.approx(-20.0, abs=1.0)
    assert int(probe(data, ".mp3")["streams"][0]["bit_rate"]) == 96000


def test_waveform_peaks_are_min_max_pairs_for_players(env, make_asset, monkeypatch):
    settings_env(monkeypatch, content_waveform_points=200)
    asset_id = make_asset(clip(seconds=4, video=False, fmt="wav", volume_db=-20), filename="a.wav")
    start_run(asset_id)

    result = process_audio(asset_id)

    row = next(r for r in result["renditions"] if r["name"] == "audio.waveform")
    peaks = json.loads(get_storage().read_bytes(row["storage_key"]))
    assert (peaks["version"], peaks["channels"], peaks["bits"]) == (2, 1, 8)
    assert 195 <= peaks["length"] <= 200 and len(peaks["data"]) == 2 * peaks["length"]
    mins, maxs = peaks["data"][0::2], peaks["data"][1::2]
    assert all(-128 <= lo <= hi <= 127 for lo, hi in zip(mins, maxs, strict=True))
    # A steady tone at -14 LUFS peaks near a quarter of full scale, the same in every column.
    assert 20 <= min(maxs) <= max(maxs) <= 50


def test_retried_audio_job_rewrites_the_same_files(env, make_asset):
    asset_id = make_asset(clip(seconds=3, video=False, fmt="wav"), filename="a.wav")
    start_run(asset_id)

    first = process_audio(asset_id)
    second = process_audio(asset_id)

    keys = sorted(r["storage_key"] for r in first["renditions"])
    assert keys == sorted(r["storage_key"] for r in second["renditions"])
    assert sorted(o.key for o in get_storage().list(f"renditions/{asset_id}/")) == keys


def test_silence_is_encoded_without_a_gain_it_cannot_have():
    measured = {"input_i": "-inf", "input_tp": "-inf", "input_lra": "0.00", "input_thresh": "-inf"}

    assert normalize_filter(measured, _settings()) is None
    loud = {"input_i": "-30.1", "input_tp": "-20", "input_lra": "1", "input_thresh": "-40", "target_offset": "0.2"}
    assert "measured_I=-30.1" in (normalize_filter(loud, _settings()) or "")


def _settings():
    from jobs.content.settings import ContentSettings

    return ContentSettings()


def test_audio_upload_becomes_ready_through_the_pipeline(env, redis_conn, make_asset):
    from tests.content.conftest import process_with_worker

    asset_id = make_asset(clip(seconds=3, video=False, fmt="mp3", volume_db=-30), filename="podcast.mp3")

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    assert state["kind"] == "audio"
    assert {r["name"] for r in state["renditions"]} == {"audio.aac", "audio.opus", "audio.mp3", "audio.waveform"}
    assert state["details"]["loudness"]["output_lufs"] == pytest.approx(-14.0, abs=1.0)
    assert state["details"]["media"]["audio"]["codec"] == "mp3"
